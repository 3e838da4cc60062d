/**
 * Text PostgreSQL cannot hold: U+0000. A signed webhook can carry one (SQLite stores it as it is); on
 * PostgreSQL it is stored as U+FFFD, and the webhook is answered 200, not a 503 that Twilio would retry forever.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
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
