import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import { dataVersion } from "./Database.js"
import type { StorageError } from "./domain/Errors.js"
import type { Message } from "./domain/Message.js"
import { MessageStore } from "./MessageStore.js"

/** How often a waiter asks SQLite whether another process wrote: one PRAGMA, no table read. */
export const POLL_INTERVAL = Duration.millis(500)
const PROGRESS_EVERY = Duration.seconds(5)

export interface ReplyFilter {
  readonly conversationId?: string | undefined
  readonly from?: string | undefined
  readonly since: string
}

/**
 * Waiting for replies. This process's inbound path signals at once; writes by other processes sharing
 * the database (the webhooks process, another MCP client) are seen through SQLite's data_version, checked
 * twice a second. Idle waiting costs a sleeping fiber, not a busy loop.
 */
export class Inbox extends Effect.Service<Inbox>()("twilio-mcp/Inbox", {
  scoped: Effect.gen(function*() {
    const messages = yield* MessageStore
    const currentVersion = Effect.provideService(dataVersion, SqlClient.SqlClient, yield* SqlClient.SqlClient)
    const arrivals = yield* PubSub.sliding<void>(1)

    const notify = PubSub.publish(arrivals, undefined)

    /**
     * Inbound messages matching `filter`, as soon as there is one, or `[]` after `timeout`.
     * `onProgress` is called every few seconds with the seconds waited.
     */
    const waitForReply = (
      filter: ReplyFilter,
      timeout: Duration.Duration,
      onProgress: (waitedSeconds: number) => Effect.Effect<void>
    ) =>
      Effect.scoped(Effect.gen(function*() {
        const signals = yield* PubSub.subscribe(arrivals)
        const start = yield* Clock.currentTimeMillis
        const waited = Effect.map(Clock.currentTimeMillis, (now) => Math.round((now - start) / 1000))
        yield* Effect.forkScoped(Effect.forever(Effect.delay(Effect.flatMap(waited, onProgress), PROGRESS_EVERY)))

        let version = yield* currentVersion
        const changed = Effect.gen(function*() {
          const signalled = yield* Queue.take(signals).pipe(Effect.timeout(POLL_INTERVAL), Effect.isSuccess)
          yield* Queue.takeAll(signals)
          const next = yield* currentVersion
          const moved = next !== version
          version = next
          return signalled || moved
        })

        const look = (): Effect.Effect<ReadonlyArray<Message>, StorageError> =>
          Effect.flatMap(messages.inboundAfter(filter), (found) =>
            found.length > 0
              ? Effect.succeed(found)
              : Effect.zipRight(Effect.repeat(changed, { until: (c) => c }), Effect.suspend(look)))
        return yield* look().pipe(
          Effect.timeoutTo({ duration: timeout, onTimeout: (): ReadonlyArray<Message> => [], onSuccess: (m) => m })
        )
      }))

    return { notify, waitForReply } as const
  })
}) {}
