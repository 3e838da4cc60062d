import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import twilio from "twilio"
import { AppConfig } from "../../src/config/AppConfig.js"
import { type RawReply, rawRequest } from "../reliability/support.js"
import { TEST_AUTH_TOKEN } from "../support/TestLayer.js"
import {
  expectNothingStored,
  FORM,
  expectRefused,
  inboundParams,
  type Params,
  type PostOptions,
  postForm,
  postInbound,
  postStatus,
  request,
  serverPort,
  sid,
  SMS_PATH,
  statusParams,
  STATUS_PATH,
  withServer,
  without
} from "./harness.js"

/** The README's limit: a webhook body of 64 KiB at most. */
const MAX_BODY_BYTES = 64 * 1024

const valid = inboundParams(sid(1))
/** The whole form one byte over the limit. */
const oversize = (() => {
  const base = inboundParams(sid(1), { Body: "" })
  const size = new URLSearchParams(base).toString().length
  return inboundParams(sid(1), { Body: "x".repeat(MAX_BODY_BYTES + 1 - size) })
})()

/**
 * A request with the headers of a signed inbound webhook (`extra` after them, so a repeated name is sent
 * twice), over its own connection.
 */
const rawInbound = (path: string, params: Record<string, string>, extra: ReadonlyArray<string> = [], options: { readonly chunked?: boolean } = {}) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    const port = yield* serverPort
    const signature = twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, Redacted.value(config.webhookSigningBaseUrl) + path, params)
    const headers = ["host", `127.0.0.1:${port}`, "content-type", FORM, "x-twilio-signature", signature, ...extra]
    return yield* Effect.promise(() =>
      rawRequest(port, { method: "POST", path, headers, body: new URLSearchParams(params).toString(), ...options }).catch((e: Error): RawReply => ({
        status: 0,
        headers: {},
        body: e.message
      }))
    )
  })

interface Case {
  readonly name: string
  readonly status: number
  readonly params: Params
  readonly options?: () => PostOptions
  readonly post?: typeof postInbound
}

const cases: ReadonlyArray<Case> = [
  { name: "a body of 65,537 bytes (64 KiB + 1)", status: 413, params: oversize },
  { name: "JSON instead of a form", status: 415, params: valid, options: () => ({ contentType: "application/json", body: JSON.stringify(valid) }) },
  { name: "no Content-Type", status: 415, params: valid, options: () => ({ contentType: "" }) },
  { name: "no MessageSid", status: 400, params: without(valid, "MessageSid") },
  { name: "a malformed MessageSid", status: 400, params: inboundParams("SM123") },
  { name: "a MessageSid of another resource type", status: 400, params: inboundParams(`CA${"1".repeat(32)}`) },
  { name: "two MessageSid values", status: 400, params: [...Object.entries(valid), ["MessageSid", sid(2)]] },
  { name: "no From", status: 400, params: without(valid, "From") },
  { name: "an empty To", status: 400, params: inboundParams(sid(1), { To: "" }) },
  { name: "a non-numeric NumMedia", status: 400, params: inboundParams(sid(1), { NumMedia: "two" }) },
  { name: "NumMedia over 10", status: 400, params: inboundParams(sid(1), { NumMedia: "11" }) },
  // Twilio's limit is 1,600 characters; the form allows 10,000 and no more (README: Webhook Setup, the answers table).
  { name: "a Body of 10,001 characters", status: 400, params: inboundParams(sid(1), { Body: "x".repeat(10_001) }) },
  { name: "a status callback without MessageStatus", status: 400, params: without(statusParams(sid(1), "sent"), "MessageStatus"), post: postStatus },
  { name: "a status callback with an unknown MessageStatus", status: 400, params: statusParams(sid(1), "exploded"), post: postStatus },
  { name: "a status callback with a non-numeric ErrorCode", status: 400, params: statusParams(sid(1), "failed", { ErrorCode: "oops" }), post: postStatus },
  { name: "a status callback with two MessageStatus values", status: 400, params: [...Object.entries(statusParams(sid(1), "sent")), ["MessageStatus", "failed"]], post: postStatus }
]

describe("malformed webhooks are refused with a 4xx, never a 500, and store nothing", () => {
  cases.forEach(({ name, options, params, post = postInbound, status }) =>
    it.live(`${status} for ${name}`, () =>
      Effect.gen(function*() {
        expectRefused(yield* post(params, options?.()), status)
        yield* expectNothingStored
      }).pipe(withServer())))
})

describe("the body limit", () => {
  it.live("exactly 64 KiB is read (and refused only for its signature, here forged)", () =>
    Effect.gen(function*() {
      const base = inboundParams(sid(1), { Body: "" })
      const atLimit = inboundParams(sid(1), { Body: "x".repeat(MAX_BODY_BYTES - new URLSearchParams(base).toString().length) })
      expect(new URLSearchParams(atLimit).toString().length).toBe(MAX_BODY_BYTES)
      expectRefused(yield* postInbound(atLimit, { signature: "forged" }), 403)
      expect(new URLSearchParams(oversize).toString().length).toBe(MAX_BODY_BYTES + 1)
    }).pipe(withServer()))

  // README (the webhook table): over 64 KiB is 413, however the body is sent.
  it.live("over 64 KiB sent chunked, without Content-Length: 413, then the connection is closed, and nothing stored", () =>
    Effect.gen(function*() {
      const reply = yield* rawInbound(SMS_PATH, oversize, [], { chunked: true })
      expect(reply.status).toBe(413)
      expect(reply.headers.connection).toBe("close")
      yield* expectNothingStored
    }).pipe(withServer()))

  it.live("exactly 64 KiB sent chunked is read and stored", () =>
    Effect.gen(function*() {
      // Padded with a parameter of its own: Body allows 10,000 characters.
      const base = inboundParams(sid(1), { Pad: "" })
      const atLimit = inboundParams(sid(1), { Pad: "x".repeat(MAX_BODY_BYTES - new URLSearchParams(base).toString().length) })
      expect(new URLSearchParams(atLimit).toString().length).toBe(MAX_BODY_BYTES)
      expect((yield* rawInbound(SMS_PATH, atLimit, [], { chunked: true })).status).toBe(200)
    }).pipe(withServer()))
})

describe("values over a length limit", () => {
  it.live("are refused as too long, with the limit", () =>
    Effect.gen(function*() {
      const reply = yield* postInbound(inboundParams(sid(1), { Body: "x".repeat(10_001), From: `+1${"5".repeat(130)}` }))
      expectRefused(reply, 400)
      expect(reply.body).toContain("Body: is too long: at most 10000 characters")
      expect(reply.body).toContain("From: is too long: at most 128 characters")
      yield* expectNothingStored
    }).pipe(withServer()))
})

describe("repeated headers", () => {
  const twice: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["two Host headers", ["host", "evil.example.com"]],
    ["two Authorization headers", ["authorization", "Bearer one", "authorization", "Bearer two"]]
  ]
  twice.forEach(([name, extra]) =>
    it.live(`${name} on a signed webhook: 400, nothing stored`, () =>
      Effect.gen(function*() {
        const reply = yield* rawInbound(SMS_PATH, valid, extra)
        expect(reply.status).toBe(400)
        expect(reply.body).toMatch(/Host|Authorization/)
        yield* expectNothingStored
      }).pipe(withServer())))

  it.live("a signed webhook with one of each is stored (the test's requests are otherwise valid)", () =>
    Effect.gen(function*() {
      expect((yield* rawInbound(SMS_PATH, valid, ["authorization", "Bearer one"])).status).toBe(200)
    }).pipe(withServer()))
})

describe("routes", () => {
  const unknown: ReadonlyArray<readonly [string, string]> = [
    ["GET", "/"],
    ["GET", "/webhooks/twilio/voice"],
    ["POST", "/webhooks/twilio/voice"],
    ["GET", "/healthz/extra"]
  ]
  unknown.forEach(([method, path]) =>
    it.live(`${method} ${path} → 404 with no internals in the body`, () =>
      Effect.gen(function*() {
        const reply = yield* request(path, { method })
        expectRefused(reply, 404)
        expect(reply.body).not.toMatch(/RouteNotFound|stack/i)
      }).pipe(withServer())))

  const wrongMethod: ReadonlyArray<readonly [string, string, string]> = [
    ["PUT", SMS_PATH, "GET, HEAD, POST"],
    ["DELETE", SMS_PATH, "GET, HEAD, POST"],
    ["GET", STATUS_PATH, "POST"],
    ["PATCH", STATUS_PATH, "POST"],
    ["POST", "/healthz", "GET, HEAD"],
    ["OPTIONS", "/healthz", "GET, HEAD"]
  ]
  wrongMethod.forEach(([method, path, allow]) =>
    it.live(`${method} ${path} → 405 with Allow: ${allow}, nothing stored`, () =>
      Effect.gen(function*() {
        const reply = yield* request(path, { method })
        expectRefused(reply, 405)
        expect(reply.allow?.split(", ").sort().join(", ")).toBe(allow)
        yield* expectNothingStored
      }).pipe(withServer())))

  // Only the documented paths: no other case, no doubled or trailing slash, even signed for that URL.
  const variants = ["/WEBHOOKS/twilio/sms", "/Webhooks/Twilio/Sms", "/webhooks//twilio/sms", "/webhooks/twilio/sms/", "//webhooks/twilio/sms"]
  variants.forEach((path) =>
    it.live(`a signed webhook to ${path} → 404, nothing stored`, () =>
      Effect.gen(function*() {
        expectRefused(yield* postForm(path, valid), 404)
        yield* expectNothingStored
      }).pipe(withServer())))

  for (const path of ["/HEALTHZ", "/healthz/", "/webhooks/twilio/status/"]) {
    it.live(`GET ${path} → 404`, () => Effect.map(request(path), (reply) => expectRefused(reply, 404)).pipe(withServer()))
  }

  it.live("an unsigned GET on the inbound path is refused like an unsigned POST: 403", () =>
    Effect.gen(function*() {
      expectRefused(yield* request(`${SMS_PATH}?${new URLSearchParams(valid).toString()}`), 403)
      yield* expectNothingStored
    }).pipe(withServer()))
})
