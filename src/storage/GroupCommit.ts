import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { StorageError } from "../domain/Errors.js"

/** A failure inside the writes, as opposed to the transaction's BEGIN or COMMIT. */
class InWrite extends Data.TaggedError("InWrite")<{ readonly cause: Cause.Cause<unknown> }> {}

type Pending<I, O> = readonly [input: I, done: Deferred.Deferred<O, unknown>]

/** Resumes after the I/O Node has already received is handled (setImmediate). */
export const nextTurnOfEventLoop = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Group commit: `submit` queues a write and resolves once it is committed. One writer fiber takes whatever
 * is queued (up to `maxBatch`, after letting the event loop turn once) and runs `write` over all of it in one
 * transaction (`transaction`), so the webhooks that arrived together share one COMMIT. If a write fails, the batch is rolled back and each write
 * runs again alone, so one bad row never costs the others theirs; cheaper than a savepoint per write, for a
 * failure that is rare. If BEGIN or COMMIT fails (disk full, locked past busy_timeout) every write of the
 * batch fails with it: running each again would only repeat the wait.
 *
 * `write` gets the batch in submission order and returns one output per input, in the same order.
 */
export const make = <I, O, E>(options: {
  readonly transaction: <A, E1, R1>(effect: Effect.Effect<A, E1, R1>) => Effect.Effect<A, E1 | StorageError, R1>
  readonly write: (batch: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>
  readonly maxBatch: number
}): Effect.Effect<(input: I) => Effect.Effect<O, E | StorageError>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(
      Queue.unbounded<Pending<I, O>>(),
      (queue) =>
        // Whatever was never taken fails rather than waiting forever: the process is stopping.
        Effect.flatMap(Queue.takeAll(queue), (left) =>
          Effect.forEach(left, ([, done]) =>
            Deferred.fail(done, new StorageError({ operation: "write", detail: "the server is shutting down" })), {
            discard: true
          })).pipe(Effect.zipRight(Queue.shutdown(queue)))
    )

    const once = (batch: ReadonlyArray<Pending<I, O>>) =>
      Effect.exit(options.transaction(
        options.write(batch.map(([input]) => input)).pipe(Effect.sandbox, Effect.mapError((cause) => new InWrite({ cause })))
      ))

    const settle = (batch: ReadonlyArray<Pending<I, O>>, exit: Exit.Exit<ReadonlyArray<O>, unknown>) =>
      Effect.forEach(batch, ([, done], i) =>
        Deferred.done(
          done,
          Exit.isSuccess(exit)
            ? Exit.succeed(exit.value[i]!)
            : Exit.failCause(Cause.flatMap(exit.cause, (e) => (e instanceof InWrite ? e.cause : Cause.fail(e))))
        ), { discard: true })

    const commit = (batch: ReadonlyArray<Pending<I, O>>): Effect.Effect<void> =>
      Effect.flatMap(once(batch), (exit) =>
        Exit.isFailure(exit) && batch.length > 1 && Option.exists(Cause.failureOption(exit.cause), (e) => e instanceof InWrite)
          ? Effect.forEach(batch, (pending) => commit([pending]), { discard: true })
          : settle(batch, exit))

    // After the first write, one turn of the event loop: the requests already received are read and decoded
    // and join the batch. Without it the writer commits each webhook alone (SQLite is synchronous: the commit
    // ends before Node reads the next request). Uninterruptible once taken: a write taken is always answered.
    yield* Effect.forkScoped(Effect.forever(
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const first = yield* restore(Queue.take(queue))
          yield* nextTurnOfEventLoop
          const rest = yield* Queue.takeUpTo(queue, options.maxBatch - 1)
          yield* commit([first, ...Chunk.toReadonlyArray(rest)])
        })
      )
    ))

    return (input: I) =>
      Effect.flatMap(Deferred.make<O, unknown>(), (done) =>
        Effect.zipRight(Queue.offer(queue, [input, done]), Deferred.await(done) as Effect.Effect<O, E | StorageError>))
  })
