/**
 * Edges found by trying the webhook server as an attacker would: URL credentials in WEBHOOK_BASE_URL, a log
 * flooded by unsigned clients, content types that only start like a form, wrong methods, Twilio's GET
 * webhooks and its empty ErrorCode.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import twilio from "twilio"
import { AppConfig } from "../../src/config/AppConfig.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { TEST_AUTH_TOKEN } from "../support/TestLayer.js"
import {
  ALICE,
  expectNothingStored,
  expectRefused,
  expectTwiml,
  inboundParams,
  postInbound,
  postStatus,
  request,
  sendTo,
  sid,
  SMS_PATH,
  statusParams,
  stored,
  withLoggedServer,
  withServer
} from "./harness.js"

/** The signature Twilio sends for a GET of `pathAndQuery` (a GET's parameters are in the signed URL). */
const signatureFor = (pathAndQuery: string) =>
  Effect.map(AppConfig, (config) => twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, Redacted.value(config.webhookSigningBaseUrl) + pathAndQuery, {}))

describe("WEBHOOK_BASE_URL with user:password@", () => {
  // What the configuration makes of https://hook-user:hook-secret-pw@twilio-mcp.example.test (test/unit/Config.test.ts).
  const server = () =>
    withLoggedServer({
      webhookBaseUrl: "https://twilio-mcp.example.test",
      webhookSigningBaseUrl: Redacted.make("https://hook-user:hook-secret-pw@twilio-mcp.example.test")
    })

  it.live("Twilio signs the URL with its credentials: such a request is accepted; the status callback carries them", () => {
    const logs = server()
    return Effect.gen(function*() {
      expectTwiml(yield* postInbound(inboundParams(sid(1))))
      const { messageSid } = yield* sendTo(ALICE)
      const [sent] = yield* Effect.flatMap(TwilioMemory, (t) => t.sent)
      expect(sent!.statusCallback).toBe("https://hook-user:hook-secret-pw@twilio-mcp.example.test/webhooks/twilio/status")
      expectTwiml(yield* postStatus(statusParams(messageSid, "delivered"), { signedUrl: sent!.statusCallback! }))
    }).pipe(logs.provide)
  })

  it.live("a rejected request's warning shows the URL without the credentials", () => {
    const logs = server()
    return Effect.gen(function*() {
      expectRefused(yield* postInbound(inboundParams(sid(2)), { signature: "forged" }), 403)
      const line = yield* logs.logged(/Invalid webhook signature/)
      expect(line).toContain("https://twilio-mcp.example.test/webhooks/twilio/sms")
      expect(logs.lines().join("\n")).not.toMatch(/hook-user|hook-secret-pw/)
    }).pipe(logs.provide)
  })
})

describe("rejection warnings", () => {
  it.effect("many unsigned requests: one line at once, then one line per reason per minute with the count", () => {
    const logs = withLoggedServer()
    return Effect.gen(function*() {
      for (let i = 0; i < 50; i++) expectRefused(yield* postInbound(inboundParams(sid(i)), { signature: null }), 403)
      for (let i = 0; i < 20; i++) expectRefused(yield* postInbound(inboundParams(sid(i)), { signature: "forged" }), 403)
      const warnings = () => logs.lines().filter((l) => l.startsWith("WARN"))
      expect(warnings()).toHaveLength(2)
      yield* TestClock.adjust("1 minute")
      yield* logs.logged(/49 more webhooks rejected in the last 1m: no X-Twilio-Signature header/)
      yield* logs.logged(/19 more webhooks rejected in the last 1m: X-Twilio-Signature does not match/)
      expect(warnings()).toHaveLength(4)
      // The next interval starts afresh: the first rejection is logged at once again.
      expectRefused(yield* postInbound(inboundParams(sid(99)), { signature: null }), 403)
      expect(warnings()).toHaveLength(5)
      yield* expectNothingStored
    }).pipe(logs.provide)
  })

  it.live("the counts of the last partial minute are logged at shutdown", () => {
    const logs = withLoggedServer()
    return Effect.gen(function*() {
      yield* Effect.gen(function*() {
        for (let i = 0; i < 3; i++) expectRefused(yield* postInbound(inboundParams(sid(i)), { signature: null }), 403)
        expectRefused(yield* postInbound(inboundParams(sid(9)), { signature: "forged" }), 403)
      }).pipe(logs.provide)
      // The server has stopped: the repeats it only counted are in the log.
      expect(logs.lines()).toContainEqual(expect.stringMatching(/^WARN 2 more webhooks rejected .*: no X-Twilio-Signature header$/))
      expect(logs.lines().filter((l) => l.includes("more webhook"))).toHaveLength(1)
    })
  })

  it.live("a huge URL makes a short line: every logged value is bounded", () => {
    const logs = withLoggedServer()
    return Effect.gen(function*() {
      expectRefused(yield* postInbound(inboundParams(sid(1)), { query: `?pad=${"x".repeat(15_000)}`, signature: "forged" }), 403)
      const line = yield* logs.logged(/Invalid webhook signature/)
      expect(line.length).toBeLessThan(600)
      expect(line).toMatch(/… \(150\d\d characters\)/)
    }).pipe(logs.provide)
  })
})

describe("content type", () => {
  it.live("only the form media type is accepted: a type that merely starts like it is 415", () =>
    Effect.gen(function*() {
      for (const contentType of ["application/x-www-form-urlencodedjunk", "application/x-www-form-urlencoded-evil", "text/plain; x=application/x-www-form-urlencoded"]) {
        expectRefused(yield* postInbound(inboundParams(sid(1)), { contentType }), 415)
      }
      yield* expectNothingStored
      expectTwiml(yield* postInbound(inboundParams(sid(1)), { contentType: "Application/X-WWW-Form-Urlencoded ; charset=UTF-8" }))
    }).pipe(withServer()))
})

describe("a number whose messaging webhook is set to HTTP GET", () => {
  it.live("a signed GET (the parameters in the query, which the signature covers) is stored as a POST would be", () =>
    Effect.gen(function*() {
      const params = inboundParams(sid(5), { Body: "sent by GET" })
      const query = `?${new URLSearchParams(params).toString()}`
      const signature = yield* signatureFor(SMS_PATH + query)
      expectTwiml(yield* request(SMS_PATH + query, { headers: { "x-twilio-signature": signature } }))
      expect(yield* stored(sid(5))).toMatchObject({ body: "sent by GET", direction: "inbound", from: ALICE })
      // The query is part of what is signed: change it and the signature no longer holds.
      const tampered = query.replace("sent+by+GET", "tampered")
      expectRefused(yield* request(SMS_PATH + tampered, { headers: { "x-twilio-signature": signature } }), 403)
    }).pipe(withServer()))
})

describe("status callbacks", () => {
  it.live("an empty ErrorCode= is no code: the callback is applied", () =>
    Effect.gen(function*() {
      const { messageSid } = yield* sendTo(ALICE)
      expectTwiml(yield* postStatus(statusParams(messageSid, "delivered", { ErrorCode: "" })))
      const message = yield* stored(messageSid)
      expect(message.status).toBe("delivered")
      expect(message.errorCode).toBeUndefined()
    }).pipe(withServer()))
})
