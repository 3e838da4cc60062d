import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type { MessageStatus } from "./domain/Message.js"
import { nowIso } from "./domain/Time.js"
import { Messaging } from "./Messaging.js"
import { TwilioMemory } from "./TwilioMemory.js"

/** What a carrier does to a sandbox message, and after how long. */
const progression: ReadonlyArray<readonly [Duration.Duration, MessageStatus]> = [
  [Duration.seconds(1), "sent"],
  [Duration.seconds(2), "delivered"]
]

/**
 * Sandbox mode's carrier: every message the in-memory Twilio accepts moves queued → sent → delivered,
 * applied through Messaging.applyStatus, the use case the status webhook calls.
 */
export const SandboxCarrier = Layer.scopedDiscard(
  Effect.gen(function*() {
    const memory = yield* TwilioMemory
    const messaging = yield* Messaging
    const accepted = yield* memory.subscribe
    const advance = (sid: string) =>
      Effect.forEach(progression, ([delay, status]) =>
        Effect.gen(function*() {
          yield* Effect.sleep(delay)
          yield* memory.setStatus(sid, status)
          yield* messaging.applyStatus({ sid, status, at: yield* nowIso })
        }), { discard: true })
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(accepted), (m) => Effect.forkScoped(Effect.ignoreLogged(advance(m.sid))))))
  })
)
