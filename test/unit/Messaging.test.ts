import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { PhoneNumber } from "../../src/domain/Address.js"
import { Messaging } from "../../src/Messaging.js"
import { TEST_PHONE, TestLayer } from "../../src/TestLayer.js"

const alice = "+15551230001" as PhoneNumber

describe("Messaging.send", () => {
  it.effect("threads A→B and B→A into one conversation", () =>
    Effect.gen(function*() {
      const messaging = yield* Messaging
      const sent = yield* messaging.send({ to: alice, message: "hello" })
      const inbound = yield* messaging.recordInbound({
        sid: `SM${"1".repeat(32)}`,
        from: alice as never,
        to: TEST_PHONE as never,
        body: "hi back",
        media: [],
        extra: {}
      })
      expect(inbound.conversationId).toBe(sent.conversationId)
    }).pipe(Effect.provide(TestLayer())))
})
