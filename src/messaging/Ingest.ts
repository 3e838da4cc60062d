import * as Effect from "effect/Effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Address } from "../domain/Address.js"
import type { Media } from "../domain/Message.js"
import { nowIso } from "../domain/Time.js"
import { Database } from "../storage/Database.js"
import * as GroupCommit from "../storage/GroupCommit.js"
import { MessageStore, type StatusOutcome, type StatusUpdate } from "../storage/MessageStore.js"
import { type OptOutRecord, OptOuts } from "../storage/OptOuts.js"
import { Inbox } from "./Inbox.js"
import { classifyOptOut } from "./OptOutKeywords.js"
import { Threading } from "./Threading.js"

export interface InboundMessage {
  readonly sid: string
  readonly from: Address
  readonly to: Address
  readonly body: string
  readonly media: ReadonlyArray<Media>
  readonly numSegments?: number | undefined
  readonly messagingServiceSid?: string | undefined
  /** Twilio's time for a message caught up later; webhooks are stored at the time they arrive. */
  readonly receivedAt?: string | undefined
  readonly extra: Record<string, string>
}

export interface InboundOutcome {
  readonly duplicate: boolean
  readonly conversationId: string | null
}

type Write =
  | { readonly _tag: "Inbound"; readonly message: InboundMessage; readonly at: string }
  | { readonly _tag: "Status"; readonly update: StatusUpdate }

/** Writes that arrive together (a burst of webhooks) wait at most this many to a transaction. */
const MAX_BATCH = 256

/**
 * What Twilio tells us, stored: inbound messages (threaded, idempotent by SID, opt-out keywords applied) and
 * status callbacks (once per SID and status, forward only). The webhooks, the catch-up with Twilio, the
 * sandbox carrier and simulate_inbound all write through here: one write path, group-committed, so the
 * webhooks that arrive together share one transaction, set-based statements and one COMMIT.
 */
export class Ingest extends Effect.Service<Ingest>()("twilio-mcp/Ingest", {
  scoped: Effect.gen(function*() {
    const config = yield* AppConfig
    const database = yield* Database
    const messages = yield* MessageStore
    const threading = yield* Threading
    const optOuts = yield* OptOuts
    const inbox = yield* Inbox

    /** Messaging Service traffic is threaded (and opted out) by the service, whichever number it used. */
    const ourSide = (m: InboundMessage): Address =>
      m.messagingServiceSid !== undefined && m.messagingServiceSid === config.messagingServiceSid ? m.messagingServiceSid as Address : m.to

    const storeInbound = (writes: ReadonlyArray<Extract<Write, { _tag: "Inbound" }>>) =>
      Effect.gen(function*() {
        if (writes.length === 0) return []
        const now = writes[writes.length - 1]!.at
        const threads = yield* threading.forMessages(writes.map(({ message }) => [message.from, ourSide(message)]), now)
        const stored = yield* messages.insertMany(
          writes.map(({ at, message }, i) => ({
            sid: message.sid,
            direction: "inbound",
            from: message.from,
            to: message.to,
            body: message.body,
            status: "received",
            conversationId: threads[i]!,
            numSegments: message.numSegments,
            media: message.media,
            messagingServiceSid: message.messagingServiceSid,
            createdAt: message.receivedAt ?? at,
            extra: message.extra
          })),
          now
        )
        // A duplicate delivery changes nothing: no activity bump, no second opt-out event.
        const latest = new Map<string, string>()
        const changes: Array<OptOutRecord> = []
        writes.forEach(({ at, message }, i) => {
          if (!stored[i]) return
          const thread = threads[i]
          if (thread !== null && thread !== undefined && (latest.get(thread) ?? "") < at) latest.set(thread, at)
          const change = classifyOptOut(message.body, message.extra.OptOutType)
          if (change !== undefined) changes.push({ recipient: message.from, sender: ourSide(message), change, source: "inbound keyword", at })
        })
        yield* threading.touch(Array.from(latest, ([id, at]) => ({ id, at })))
        yield* optOuts.record(changes)
        return writes.map((_, i): InboundOutcome => ({ duplicate: !stored[i], conversationId: threads[i]! }))
      })

    /** One batch: the inbound messages first, then the status updates; the outcomes in submission order. */
    const write = (batch: ReadonlyArray<Write>) =>
      Effect.gen(function*() {
        const inbound = batch.filter((w): w is Extract<Write, { _tag: "Inbound" }> => w._tag === "Inbound")
        const statuses = batch.filter((w): w is Extract<Write, { _tag: "Status" }> => w._tag === "Status")
        const inboundOutcomes = yield* storeInbound(inbound)
        const statusOutcomes = statuses.length === 0 ? [] : yield* messages.applyStatuses(statuses.map((w) => w.update))
        let nextInbound = 0
        let nextStatus = 0
        return batch.map((w): InboundOutcome | StatusOutcome =>
          w._tag === "Inbound" ? inboundOutcomes[nextInbound++]! : statusOutcomes[nextStatus++]!
        )
      })

    const submit = yield* GroupCommit.make({ transaction: database.writeTransaction, write, maxBatch: MAX_BATCH })

    // Untraced, unlike the other use cases: every webhook runs one, and a traced call (a span and a captured
    // stack) was ~4 % of a webhook's CPU. The batch's transaction is traced ("sql.transaction").

    /** Stores an inbound message once however often Twilio delivers it; then wakes this process's waiters. */
    const inbound = Effect.fnUntraced(function*(message: InboundMessage) {
      const outcome = (yield* submit({ _tag: "Inbound", message, at: yield* nowIso })) as InboundOutcome
      if (!outcome.duplicate) yield* inbox.notify
      return outcome
    })

    /** Records a status event and moves the message forward only. */
    const status = Effect.fnUntraced(function*(update: StatusUpdate) {
      return (yield* submit({ _tag: "Status", update })) as StatusOutcome
    })

    return { inbound, status } as const
  }),
  dependencies: [Database.Default, MessageStore.Default, Threading.Default, OptOuts.Default, Inbox.Default]
}) {}
