/**
 * Text PostgreSQL cannot hold: U+0000, and (in the JSON batches go in as) a lone UTF-16 surrogate. A signed
 * webhook can carry a NUL (SQLite stores it as it is), a tool argument a lone surrogate (JSON allows the
 * escape); on PostgreSQL each is stored as U+FFFD: the webhook is answered 200, not a 503 that Twilio would
 * retry forever, and a sent message is stored, not "sent but not stored".
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { callOk } from "../agent/support.js"
import { TestLayer } from "../support/TestLayer.js"
import { alice } from "../unit/support.js"
import { expectTwiml, inboundParams, postInbound, sid, stored, withServer } from "../webhooks/harness.js"

describe("U+0000 on PostgreSQL", () => {
  it.live("in an inbound body: stored as U+FFFD, twice in a row too; a literal \\u0000 stays as written", () =>
    Effect.gen(function*() {
      expectTwiml(yield* postInbound(inboundParams(sid(1), { Body: "a\u0000b\u0000\u0000c" })))
      expect((yield* stored(sid(1))).body).toBe("a\ufffdb\ufffd\ufffdc")
      expectTwiml(yield* postInbound(inboundParams(sid(2), { Body: "a literal \\u0000 and a \\\u0000" })))
      expect((yield* stored(sid(2))).body).toBe("a literal \\u0000 and a \\\ufffd")
    }).pipe(withServer()))
})

describe("a lone surrogate on PostgreSQL", () => {
  it.effect("in a message sent through the tools: sent and stored, as U+FFFD", () =>
    Effect.gen(function*() {
      const sent = yield* callOk("send_sms", { to: alice, message: "hi \ud83d there" })
      expect(sent).not.toHaveProperty("warning")
      const thread = yield* callOk("get_conversation_thread", { conversationId: sent.conversationId })
      expect(thread.messages.map((m: { body: string }) => m.body)).toEqual(["hi \ufffd there"])
    }).pipe(Effect.provide(TestLayer())))
})
