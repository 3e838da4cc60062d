import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import {
  expectNothingStored,
  expectRefused,
  inboundParams,
  type Params,
  type PostOptions,
  postInbound,
  postStatus,
  request,
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

/** The same oversize form, streamed in chunks with no Content-Length: only the body limit can stop it. */
const chunked = (): PostOptions => {
  const bytes = new TextEncoder().encode(new URLSearchParams(oversize).toString())
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.subarray(i, i + 8192))
      controller.close()
    }
  })
  return { body: stream }
}

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

  it.live("over 64 KiB sent chunked, without Content-Length: 413 or the connection closed, and nothing stored", () =>
    Effect.gen(function*() {
      const reply = yield* Effect.exit(postInbound(oversize, chunked()))
      if (Exit.isSuccess(reply)) expectRefused(reply.value, 413)
      else expect(Cause.pretty(reply.cause)).toMatch(/fetch failed|other side closed|ECONNRESET/)
      yield* expectNothingStored
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

  it.live("an unsigned GET on the inbound path is refused like an unsigned POST: 403", () =>
    Effect.gen(function*() {
      expectRefused(yield* request(`${SMS_PATH}?${new URLSearchParams(valid).toString()}`), 403)
      yield* expectNothingStored
    }).pipe(withServer()))
})
