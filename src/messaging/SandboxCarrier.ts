import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type { MessageStatus } from "../domain/Message.js"
import { nowIso } from "../domain/Time.js"
import { Ingest } from "./Ingest.js"
import { TwilioMemory } from "../twilio/TwilioMemory.js"

/** What a carrier does to a sandbox message, and after how long. */
const progression: ReadonlyArray<readonly [Duration.Duration, MessageStatus]> = [
  [Duration.seconds(1), "sent"],
  [Duration.seconds(2), "delivered"]
]

/**
 * Sandbox mode's carrier: every message the in-memory Twilio accepts moves queued → sent → delivered,
 * applied through Ingest.status, the write path the status webhook takes.
 */
export const SandboxCarrier = Layer.scopedDiscard(
  Effect.gen(function*() {
    const memory = yield* TwilioMemory
    const ingest = yield* Ingest
    const accepted = yield* memory.subscribe
    const carried = yield* FiberSet.make()
    const advance = (sid: string) =>
      Effect.forEach(progression, ([delay, status]) =>
        Effect.gen(function*() {
          yield* Effect.sleep(delay)
          yield* memory.setStatus(sid, status)
          yield* ingest.status({ sid, status, at: yield* nowIso })
          yield* Effect.logDebug(`sandbox carrier: ${sid} ${status}`)
        }), { discard: true })
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(accepted), (m) => FiberSet.run(carried, Effect.ignoreLogged(advance(m.sid))))))
  })
).pipe(Layer.provide(Ingest.Default))
