import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { StorageError } from "../domain/Errors.js"
import type { Message } from "../domain/Message.js"
import { Database } from "../storage/Database.js"
import { MessageReads } from "../storage/MessageReads.js"
import type { ReadMark } from "../storage/MessageRows.js"

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
 * the database (the webhooks process or replicas, another MCP client) through the Database's change watch
 * (SQLite's data_version once a second, PostgreSQL's NOTIFY). Idle waiting is a sleeping fiber, not a busy loop.
 */
export class Inbox extends Effect.Service<Inbox>()("twilio-mcp/Inbox", {
  effect: Effect.gen(function*() {
    const messages = yield* MessageReads
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
     * Inbound messages matching the filter `prepare` finds, as soon as there is one, or none after `timeout`
     * (with the filter, unless `prepare` itself ran out of time). The clock starts before `prepare`, which may
     * wait on the database: `timeout` and `onProgress` (called every few seconds with the seconds waited) count
     * from the call.
     */
    const waitForReply = <E, R>(
      prepare: Effect.Effect<ReplyFilter, E, R>,
      timeout: Duration.Duration,
      onProgress: (waitedSeconds: number) => Effect.Effect<void>
    ) =>
      Effect.scoped(Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        const waited = Effect.map(Clock.currentTimeMillis, (now) => Math.round((now - start) / 1000))
        yield* Effect.forkScoped(Effect.forever(Effect.delay(Effect.flatMap(waited, onProgress), PROGRESS_EVERY)))

        let filter: ReplyFilter | undefined
        const found = yield* Effect.gen(function*() {
          filter = yield* prepare
          const wanted = filter
          // Watching from before the first look: a commit by another process after it wakes the wait.
          const otherProcessWrote = yield* database.watchChanges
          /** Until this process signals an arrival, or another process commits. */
          const changed = (arrived: Deferred.Deferred<void>): Effect.Effect<void, StorageError> =>
            Effect.raceFirst(Deferred.await(arrived), otherProcessWrote)
          // The signal is taken before the query: an arrival after the query has completed it.
          const look: Effect.Effect<Replies, StorageError> = Effect.flatMap(nextArrival, (arrived) =>
            Effect.flatMap(messages.inboundAfter(wanted), (replies) =>
              replies.messages.length > 0 ? Effect.succeed(replies) : Effect.zipRight(changed(arrived), Effect.suspend(() => look))))
          return yield* look
        }).pipe(Effect.timeoutTo({ duration: timeout, onTimeout: () => none, onSuccess: (replies) => replies }))
        return { filter, found }
      }))

    return { notify, waitForReply } as const
  }),
  dependencies: [MessageReads.Default, Database.Default]
}) {}
