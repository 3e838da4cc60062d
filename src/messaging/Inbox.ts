import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { StorageError } from "../domain/Errors.js"
import type { Message } from "../domain/Message.js"
import { Database } from "../storage/Database.js"
import { MessageStore, type ReadMark } from "../storage/MessageStore.js"

/** How often a waiter asks SQLite whether another process wrote: one PRAGMA, no table read. */
export const POLL_INTERVAL = Duration.seconds(1)
const PROGRESS_EVERY = Duration.seconds(5)

export interface ReplyFilter {
  readonly conversationId?: string | undefined
  readonly from?: string | undefined
  /** Messages after this time or cursor; without it, those not yet returned (read markers) after `floor`. */
  readonly since?: string | undefined
  readonly floor?: string | undefined
}

export interface Replies {
  readonly messages: ReadonlyArray<Message>
  /** The newest message's cursor, for a `since` that continues after it. */
  readonly cursor: string | undefined
  readonly marks: ReadonlyArray<ReadMark>
}

const none: Replies = { messages: [], cursor: undefined, marks: [] }

/**
 * Waiting for replies. This process's inbound path signals at once; writes by other processes sharing
 * the database (the webhooks process, another MCP client) are seen through SQLite's data_version, checked
 * once a second. Idle waiting costs a sleeping fiber and one PRAGMA per poll, not a busy loop.
 */
export class Inbox extends Effect.Service<Inbox>()("twilio-mcp/Inbox", {
  effect: Effect.gen(function*() {
    const messages = yield* MessageStore
    const database = yield* Database
    // Made by the first waiter to look, completed (and dropped) by the next inbound message this process stores.
    let arrival: Deferred.Deferred<void> | undefined
    const nextArrival = Effect.suspend(() =>
      arrival === undefined
        ? Effect.tap(Deferred.make<void>(), (made) => Effect.sync(() => void (arrival = made)))
        : Effect.succeed(arrival)
    )

    /** Wakes this process's waiters: called once an inbound message is committed. */
    const notify = Effect.suspend(() => {
      const arrived = arrival
      arrival = undefined
      return arrived === undefined ? Effect.void : Deferred.succeed(arrived, undefined)
    })

    /**
     * Inbound messages matching `filter`, as soon as there is one, or none after `timeout`.
     * `onProgress` is called every few seconds with the seconds waited.
     */
    const waitForReply = (
      filter: ReplyFilter,
      timeout: Duration.Duration,
      onProgress: (waitedSeconds: number) => Effect.Effect<void>
    ) =>
      Effect.scoped(Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        const waited = Effect.map(Clock.currentTimeMillis, (now) => Math.round((now - start) / 1000))
        yield* Effect.forkScoped(Effect.forever(Effect.delay(Effect.flatMap(waited, onProgress), PROGRESS_EVERY)))

        let version = yield* database.dataVersion
        /** Until this process signals an arrival, or another process's commit moves data_version. */
        const changed = (arrived: Deferred.Deferred<void>): Effect.Effect<void, StorageError> =>
          Effect.flatMap(
            Effect.raceFirst(Effect.as(Deferred.await(arrived), true), Effect.as(Effect.sleep(POLL_INTERVAL), false)),
            (signalled) =>
              signalled ? Effect.void : Effect.flatMap(database.dataVersion, (next) => {
                if (next === version) return changed(arrived)
                version = next
                return Effect.void
              })
          )

        // The signal is taken before the query: an arrival after the query has completed it.
        const look: Effect.Effect<Replies, StorageError> = Effect.flatMap(nextArrival, (arrived) =>
          Effect.flatMap(messages.inboundAfter(filter), (found) =>
            found.messages.length > 0 ? Effect.succeed(found) : Effect.zipRight(changed(arrived), Effect.suspend(() => look))))
        return yield* look.pipe(Effect.timeoutTo({ duration: timeout, onTimeout: () => none, onSuccess: (found) => found }))
      }))

    return { notify, waitForReply } as const
  }),
  dependencies: [MessageStore.Default, Database.Default]
}) {}
