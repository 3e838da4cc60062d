import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig } from "../config/AppConfig.js"
import type { Address } from "../domain/Address.js"
import { nowIso } from "../domain/Time.js"
import { MessageStore } from "../storage/MessageStore.js"
import { Twilio } from "../twilio/Twilio.js"
import type { TwilioMessage } from "../twilio/TwilioResources.js"
import { Ingest } from "./Ingest.js"

/** How far back catch-up looks by default (README), at start-up and in `sync_messages`. */
export const CATCH_UP_HOURS = 24

/** Messages per list request, and how many pages one look goes back at most. */
const PAGE_SIZE = 50
const MAX_PAGES = 20

/**
 * Inbound messages and statuses read from Twilio (which keeps every message) instead of its webhooks, written
 * through the same idempotent paths: at start-up, what was missed while no webhook server was reachable; in
 * fetch mode (InboundFetcher), everything.
 */
export class CatchUp extends Effect.Service<CatchUp>()("twilio-mcp/CatchUp", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio
    const messages = yield* MessageStore
    const ingest = yield* Ingest

    /** Twilio's message with its media (an MMS's are a request away), as a webhook would have brought it. */
    const withMedia = (m: TwilioMessage) =>
      Effect.map(m.numMedia > 0 ? twilio.listMedia(m.sid) : Effect.succeed([]), (media) => ({
        sid: m.sid,
        from: m.from as Address,
        to: m.to as Address,
        body: m.body,
        media,
        numSegments: m.numSegments,
        messagingServiceSid: m.messagingServiceSid,
        receivedAt: m.dateCreated,
        extra: { Source: "sync" }
      }))

    /**
     * Messages to our number not stored yet: Twilio lists newest first, so pages are read until a message
     * already stored, or older than `floor` (an ISO time). The newest page is one request when nothing is new.
     */
    const unseen = (to: string, floor: string) =>
      Effect.gen(function*() {
        const found: Array<TwilioMessage> = []
        let pageUrl: string | undefined
        for (let page = 0; page < MAX_PAGES; page++) {
          const listed = yield* twilio.messagePage({ to, pageSize: PAGE_SIZE, pageUrl })
          for (const m of listed.messages) {
            if ((m.dateCreated ?? "") < floor || Option.isSome(yield* messages.findRow(m.sid))) return found
            if (m.direction === "inbound") found.push(m)
          }
          pageUrl = listed.nextPageUrl
          if (pageUrl === undefined) break
        }
        return found
      })

    // A Messaging Service sender without TWILIO_PHONE_NUMBER: replies may come to any of the account's or the
    // service's numbers (asked of Twilio every 10 minutes), each one list request per look.
    const serviceNumbers = yield* Effect.cachedWithTTL(twilio.senders, Duration.minutes(10))
    const smsNumbers = config.phoneNumber !== undefined ? Effect.succeed([config.phoneNumber]) : serviceNumbers
    // And the WhatsApp sender (a Messaging Service's own WhatsApp senders are not listed here).
    const ourNumbers = Effect.map(smsNumbers, (numbers) => config.whatsappNumber === undefined ? numbers : [...numbers, config.whatsappNumber])

    /** Inbound messages to our number(s) that are not stored yet (back to `floor`); stored oldest first, at Twilio's time, with their media. */
    const inbound = (floor: string) =>
      Effect.gen(function*() {
        const found = yield* Effect.forEach(yield* ourNumbers, (to) => unseen(to, floor))
        // Oldest first (Twilio lists newest first; its times are to the second, so ties keep the list's order).
        const missed = found.flatMap((list) => [...list].reverse()).sort((x, y) => (x.dateCreated ?? "").localeCompare(y.dateCreated ?? ""))
        const results = yield* Effect.forEach(missed, (m) => Effect.flatMap(withMedia(m), ingest.inbound))
        return { found: missed.length, stored: results.filter((r) => !r.duplicate).length }
      })

    /**
     * Outbound messages since `floor` not final yet, at most `limit`: their live status, applied forward only. One
     * that Twilio cannot tell about (20404: not in this account any more) is counted and named; the others still sync.
     */
    const statuses = (floor: string, limit: number) =>
      Effect.gen(function*() {
        const pending = yield* messages.pendingOutbound(floor, limit)
        const outcomes = yield* Effect.forEach(pending, (sid) =>
          twilio.fetchMessage(sid).pipe(
            Effect.flatMap((live) =>
              Effect.flatMap(nowIso, (at) => ingest.status({ sid, status: live.status, errorCode: live.errorCode, errorMessage: live.errorMessage, at }))
            ),
            Effect.map((outcome) => ({ sid, advanced: outcome.advanced })),
            Effect.catchTag("TwilioApiError", (error) => Effect.succeed({ sid, failed: error.message }))
          ))
        const failed = outcomes.flatMap((o) => ("failed" in o ? [{ messageSid: o.sid, error: o.failed }] : []))
        return {
          checked: pending.length,
          advanced: outcomes.filter((o) => "advanced" in o && o.advanced).length,
          failed
        }
      })

    const sync = Effect.fn("CatchUp.sync")(function*(lookbackHours: number) {
      const floor = new Date((yield* Clock.currentTimeMillis) - lookbackHours * 3_600_000).toISOString()
      const received = yield* inbound(floor)
      const delivered = yield* statuses(floor, 200)
      return {
        since: floor,
        inboundFound: received.found,
        inboundStored: received.stored,
        statusesChecked: delivered.checked,
        statusesAdvanced: delivered.advanced,
        ...(delivered.failed.length === 0 ? {} : { failed: { count: delivered.failed.length, first: delivered.failed.slice(0, 5) } })
      }
    })

    return { inbound, statuses, sync } as const
  }),
  dependencies: [MessageStore.Default, Ingest.Default]
}) {}
