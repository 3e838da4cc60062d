import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Address } from "../domain/Address.js"
import { nowIso } from "../domain/Time.js"
import { MessageStore } from "../storage/MessageStore.js"
import { Twilio } from "../twilio/Twilio.js"
import { Ingest } from "./Ingest.js"

/** How far back catch-up looks by default (README), at start-up and in `sync_messages`. */
export const CATCH_UP_HOURS = 24

/**
 * Catch-up: inbound messages and statuses missed while no webhook server was reachable, fetched from
 * Twilio (which keeps every message) and written through the same idempotent paths as the webhooks.
 */
export class CatchUp extends Effect.Service<CatchUp>()("twilio-mcp/CatchUp", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio
    const messages = yield* MessageStore
    const ingest = yield* Ingest

    /** Inbound messages to our number since the newest one stored (at most `lookbackHours` back). */
    const inbound = (floor: string) =>
      Effect.gen(function*() {
        const newest = yield* messages.newestInboundAt
        const after = newest !== undefined && newest > floor ? newest : floor
        // Our SMS number and our WhatsApp sender (a Messaging Service's own senders are not listed here).
        const ours = [config.phoneNumber, config.whatsappNumber].filter((n): n is string => n !== undefined)
        if (ours.length === 0) return { after, found: 0, stored: 0 }
        // Twilio lists newest first (in the same second too): store oldest first, at Twilio's time, so threads keep
        // the order sent. Each list reversed, then the two merged by time (a stable sort keeps each one's order).
        const missed = (yield* Effect.forEach(ours, (to) => twilio.listMessages({ to, after, limit: 1000 })))
          .flatMap((list) => [...list].reverse())
          .filter((m) => m.direction === "inbound")
          .sort((a, b) => (a.dateCreated ?? "").localeCompare(b.dateCreated ?? ""))
        const results = yield* Effect.forEach(missed, (m) =>
          ingest.inbound({
            sid: m.sid,
            from: m.from as Address,
            to: m.to as Address,
            body: m.body,
            media: [],
            numSegments: m.numSegments,
            receivedAt: m.dateCreated,
            extra: { Source: "sync" }
          }))
        return { after, found: missed.length, stored: results.filter((r) => !r.duplicate).length }
      })

    /**
     * Outbound messages not final yet whose callbacks may have been missed: their live status. One that Twilio
     * cannot tell about (20404: not in this account any more) is counted and named; the others still sync.
     */
    const statuses = (floor: string) =>
      Effect.gen(function*() {
        const pending = yield* messages.pendingOutbound(floor, 200)
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
      const delivered = yield* statuses(floor)
      return {
        since: received.after,
        inboundFound: received.found,
        inboundStored: received.stored,
        statusesChecked: delivered.checked,
        statusesAdvanced: delivered.advanced,
        ...(delivered.failed.length === 0 ? {} : { failed: { count: delivered.failed.length, first: delivered.failed.slice(0, 5) } })
      }
    })

    return { sync } as const
  }),
  dependencies: [MessageStore.Default, Ingest.Default]
}) {}
