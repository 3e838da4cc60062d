/**
 * Twilio misbehaving, met by the real SDK over real HTTP: `Twilio.live` with TWILIO_API_BASE_URL pointed at
 * a loopback stub. Every send_sms / get_message_status ends within a bound derived from TWILIO_TIMEOUT_MS
 * with an isError the model can act on; an ambiguous send failure says the message may have been sent and
 * is never retried; a 429 is retried and sends exactly one message.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Duration from "effect/Duration"
import * as Bridge from "../../src/mcp/Bridge.js"
import { tools } from "../../src/mcp/tools/index.js"
import { makeTestLayer, TEST_PHONE, testConfig } from "../support/TestLayer.js"
import { Twilio } from "../../src/twilio/Twilio.js"
import { freePort } from "../support/ports.js"
import { rowCounts } from "../unit/support.js"
import { expectReadableError, textOf } from "./support.js"
import { creates, errorJson, messageJson, type StubAnswer, type StubRequest, stubTwilio } from "./stubTwilio.js"

/** TWILIO_TIMEOUT_MS for these tests (the configured minimum is 100). */
const TIMEOUT_MS = 300
/** Twilio.ts bounds every call at TWILIO_TIMEOUT_MS + 1 s; the rest is slack for a loaded 2-core machine. */
const BOUND_MS = TIMEOUT_MS + 1_000 + 1_000

const recipient = "+15557770001"
const unknownSid = `SM${"f".repeat(32)}`

/** The whole service graph on the live Twilio layer, talking to `baseUrl`. */
const onTwilioAt = (baseUrl: string) =>
  Effect.provide(makeTestLayer(testConfig({ twilioApiBaseUrl: baseUrl, twilioTimeoutMs: TIMEOUT_MS }), Twilio.live))

/** One tools/call through the bridge, timed: its result must be an isError that came within the bound. */
const callFailing = (name: string, args: Record<string, unknown>) =>
  Effect.gen(function*() {
    const [elapsed, result] = yield* Effect.timed(Bridge.callTool(tools, name, args))
    expect(Duration.toMillis(elapsed)).toBeLessThan(BOUND_MS)
    expect(result.isError, textOf(result)).toBe(true)
    expectReadableError(textOf(result))
    return textOf(result)
  })

const sendSms = { to: recipient, message: "are you there?" }

const created = (request: StubRequest): StubAnswer => {
  const form = new URLSearchParams(request.body)
  return { status: 201, body: messageJson({ sid: `SM${"1".repeat(32)}`, to: form.get("To") ?? "", from: form.get("From") ?? "", body: form.get("Body") ?? "" }) }
}

interface AmbiguousFault {
  readonly name: string
  readonly answer: StubAnswer
  /** What the reason in the tool result says. */
  readonly reason: RegExp
}

/** Twilio may have acted on the request: a send must be reported as "may have been sent" and never retried. */
const ambiguous: ReadonlyArray<AmbiguousFault> = [
  { name: "accepts the connection and never answers", answer: "hang", reason: /timed out/ },
  { name: "answers 500", answer: { status: 500, body: errorJson(500, 20500, "Internal Server Error") }, reason: /HTTP 500/ },
  { name: "answers 503 with an HTML page", answer: { status: 503, body: "<html>Service Unavailable</html>" }, reason: /HTTP 503/ },
  { name: "answers 201 with malformed JSON", answer: { status: 201, body: "{\"sid\": \"SM1" }, reason: /unreadable answer from Twilio/ }
]

describe("a send Twilio may have acted on", () => {
  it.live.each(ambiguous)("Twilio $name: isError within the bound, \"may have been sent … get_message_status\", sent once, nothing stored", ({ answer, reason }) =>
    Effect.gen(function*() {
      const stub = yield* stubTwilio(() => answer)
      const [text, counts] = yield* Effect.zip(callFailing("send_sms", sendSms), rowCounts).pipe(onTwilioAt(stub.url))
      expect(text).toMatch(reason)
      expect(text).toMatch(/may have been sent/)
      expect(text).toMatch(/get_message_status/)
      expect(creates(stub)).toHaveLength(1)
      expect(counts).toEqual({ conversations: 0, messages: 0, events: 0 })
    }).pipe(Effect.scoped))
})

describe("get_message_status when Twilio fails", () => {
  it.live.each(ambiguous)("Twilio $name: isError within the bound, and no claim that anything was sent", ({ answer }) =>
    Effect.gen(function*() {
      const stub = yield* stubTwilio(() => answer)
      const text = yield* callFailing("get_message_status", { messageSid: unknownSid }).pipe(onTwilioAt(stub.url))
      expect(text).toMatch(/Twilio unreachable during fetch message/)
      expect(text).not.toMatch(/may have been sent/)
      expect(stub.requests).toHaveLength(1)
    }).pipe(Effect.scoped))

  it.live("a stored message whose live status cannot be fetched: the last stored status, with a note, within the bound", () =>
    Effect.gen(function*() {
      let hang = false
      const stub = yield* stubTwilio((request) => (hang ? "hang" : created(request)))
      yield* Effect.gen(function*() {
        const sent = yield* Bridge.callTool(tools, "send_sms", sendSms)
        const messageSid = (sent.structuredContent as { messageSid: string }).messageSid
        hang = true
        const [elapsed, result] = yield* Effect.timed(Bridge.callTool(tools, "get_message_status", { messageSid }))
        expect(Duration.toMillis(elapsed)).toBeLessThan(BOUND_MS)
        expect(result.isError).toBeFalsy()
        expect(result.structuredContent).toMatchObject({ messageSid, status: "queued", note: expect.stringMatching(/Last known status/) })
      }).pipe(onTwilioAt(stub.url))
    }).pipe(Effect.scoped))
})

describe("connection refused (nothing listens at TWILIO_API_BASE_URL)", () => {
  it.live("send_sms: isError at once, saying the message was not sent", () =>
    Effect.gen(function*() {
      const closed = `http://127.0.0.1:${yield* Effect.promise(freePort)}`
      const text = yield* callFailing("send_sms", sendSms).pipe(onTwilioAt(closed))
      expect(text).toMatch(/ECONNREFUSED|connection refused/i)
      expect(text).toMatch(/not sent|nothing was sent/i)
      expect(text).not.toMatch(/may have been sent/)
    }))

  it.live("get_message_status: isError at once", () =>
    Effect.gen(function*() {
      const closed = `http://127.0.0.1:${yield* Effect.promise(freePort)}`
      const text = yield* callFailing("get_message_status", { messageSid: unknownSid }).pipe(onTwilioAt(closed))
      expect(text).toMatch(/Twilio unreachable during fetch message/)
    }))
})

describe("rate limited", () => {
  it.live("429 (20429) then 201: retried, one message created, the send succeeds and is stored once", () =>
    Effect.gen(function*() {
      const stub = yield* stubTwilio((request, n) =>
        n === 0 ? { status: 429, body: errorJson(429, 20429, "Too Many Requests") } : created(request)
      )
      const [result, counts] = yield* Effect.zip(Bridge.callTool(tools, "send_sms", sendSms), rowCounts).pipe(onTwilioAt(stub.url))
      expect(result.isError, textOf(result)).toBeFalsy()
      expect(result.structuredContent).toMatchObject({ messageSid: `SM${"1".repeat(32)}`, status: "queued", to: recipient, from: TEST_PHONE })
      expect(creates(stub)).toHaveLength(2)
      expect(counts.messages).toBe(1)
    }).pipe(Effect.scoped))

})

describe("Twilio refuses the send", () => {
  // Each refusal comes with what to do, whatever path it took (README: 21608 trial, 30034 A2P, 21606 sender).
  const advised: ReadonlyArray<readonly [number, string, Record<string, unknown>, RegExp]> = [
    [21608, "The number +15557770001 is unverified.", {}, /Trial account: the recipient must be a verified number/],
    [30034, "Message from an Unregistered Number", {}, /not registered for A2P 10DLC: register it in the Twilio console/],
    [21606, "The From phone number is not a valid, SMS-capable inbound phone number.", { from: "+15557779999" }, /use TWILIO_PHONE_NUMBER or one you own/]
  ]
  advised.forEach(([code, detail, extra, advice]) =>
    it.live(`${code} over HTTP: Twilio's words and what to do`, () =>
      Effect.gen(function*() {
        // Every request is refused: with a from, listing the account's senders is too, so Twilio judges the send.
        const stub = yield* stubTwilio(() => ({ status: 400, body: errorJson(400, code, detail) }))
        const text = yield* callFailing("send_sms", { ...sendSms, ...extra }).pipe(onTwilioAt(stub.url))
        expect(text).toContain(`Twilio error ${code} (HTTP 400) during send: ${detail}`)
        expect(text).toMatch(advice)
      }).pipe(Effect.scoped)))

  it.live("a 400 refusal is not retried and stores nothing", () =>
    Effect.gen(function*() {
      const stub = yield* stubTwilio(() => ({ status: 400, body: errorJson(400, 21211, "The 'To' number is not a valid phone number.") }))
      const [text, counts] = yield* Effect.zip(callFailing("send_sms", sendSms), rowCounts).pipe(onTwilioAt(stub.url))
      expect(text).toMatch(/21211/)
      expect(text).not.toMatch(/may have been sent/)
      expect(creates(stub)).toHaveLength(1)
      expect(counts).toEqual({ conversations: 0, messages: 0, events: 0 })
    }).pipe(Effect.scoped))
})
