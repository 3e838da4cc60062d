/**
 * The catch-up window (README: catch-up looks back 24 hours), at its edge: texts Twilio received while no
 * webhook reached this server, one just inside the window and one just outside, on the in-memory Twilio under
 * the TestClock. Both the start-up catch-up and `sync_messages` without lookbackHours use that window.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as TestClock from "effect/TestClock"
import { inboundOnStart } from "../../src/App.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { callOk } from "../agent/support.js"
import { collectLogs } from "../support/Logs.js"
import { TestLayer } from "../support/TestLayer.js"
import { alice, bob } from "./support.js"

const HOUR = 3_600_000
const START = Date.parse("2026-03-01T12:00:00.000Z")

/** alice texts at START, bob 2 s later, and neither webhook arrives; the clock then stands 24 h after START + 1 s. */
const missedAtTheEdge = Effect.gen(function*() {
  const twilio = yield* TwilioMemory
  yield* TestClock.setTime(START)
  yield* twilio.receive(alice, "just outside the window")
  yield* TestClock.setTime(START + 2_000)
  yield* twilio.receive(bob, "just inside the window")
  yield* TestClock.setTime(START + 24 * HOUR + 1_000)
})

const storedBodies = Effect.map(callOk("get_inbound_messages", {}), (r) => r.messages.map((m: any) => m.body))

describe("the catch-up window", () => {
  it.effect("sync_messages without lookbackHours: a text received 24 h - 1 s ago is fetched, one received 24 h + 1 s ago is not", () =>
    Effect.gen(function*() {
      yield* missedAtTheEdge
      expect(yield* callOk("sync_messages", {})).toMatchObject({ since: new Date(START + 1_000).toISOString(), inboundFound: 1, inboundStored: 1 })
      expect(yield* storedBodies).toEqual(["just inside the window"])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("the start-up catch-up: the same edge", () => {
    const logs = collectLogs()
    return Effect.gen(function*() {
      yield* missedAtTheEdge
      yield* Layer.build(inboundOnStart)
      // It runs forked: its report says when it is done.
      yield* logs.logged(/^INFO catch-up: /)
      expect(yield* storedBodies).toEqual(["just inside the window"])
    }).pipe(Effect.scoped, Effect.provide(TestLayer()), Effect.provide(Logger.replace(Logger.defaultLogger, logs.logger)))
  })
})
