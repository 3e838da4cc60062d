import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { parseConfig } from "../../src/config/LoadConfig.js"
import { TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_PHONE } from "../support/TestLayer.js"
import {
  expectNothingStored,
  expectRefused,
  expectTwiml,
  inboundParams,
  type PostOptions,
  postInbound,
  postStatus,
  serverPort,
  sid,
  SMS_PATH,
  statusParams,
  stored,
  withServer,
  without
} from "./harness.js"

const genuine = inboundParams(sid(1))

describe("X-Twilio-Signature and AccountSid", () => {
  const refusals: ReadonlyArray<{ readonly name: string; readonly options: PostOptions; readonly params?: Record<string, string> }> = [
    { name: "no signature header", options: { signature: null } },
    { name: "an empty signature header", options: { signature: "" } },
    { name: "a signature that is not Twilio's", options: { signature: "dGhpcyBpcyBub3QgYSBzaWduYXR1cmU=" } },
    { name: "a body changed after signing", options: { signedParams: inboundParams(sid(1), { Body: "original" }) } },
    { name: "a signature made with another auth token", options: { token: "another-auth-token-0123456789abcdef" } },
    { name: "a correctly signed request for another account", options: {}, params: inboundParams(sid(1), { AccountSid: `AC${"b".repeat(32)}` }) },
    { name: "a correctly signed request with no AccountSid", options: {}, params: without(genuine, "AccountSid") },
    { name: "a signature over the URL without its query string", options: { query: "?tenant=a", signedUrl: `https://twilio-mcp.example.test${SMS_PATH}` } }
  ]
  refusals.forEach(({ name, options, params }) =>
    it.live(`403 for ${name}; nothing stored`, () =>
      Effect.gen(function*() {
        const reply = yield* postInbound(params ?? genuine, options)
        expectRefused(reply, 403)
        // The design document's troubleshooting names this text.
        expect(reply.body).toMatch(/^Invalid webhook signature|^AccountSid does not match$/)
        yield* expectNothingStored
      }).pipe(withServer())))

  it.live("403 for a signature over the address the request arrived on (the Host), not the public URL", () =>
    Effect.gen(function*() {
      const port = yield* serverPort
      expectRefused(yield* postInbound(genuine, { signedUrl: `http://127.0.0.1:${port}${SMS_PATH}` }), 403)
      yield* expectNothingStored
    }).pipe(withServer()))

  it.live("status callbacks are checked the same way: unsigned or foreign ones record no event", () =>
    Effect.gen(function*() {
      expectRefused(yield* postStatus(statusParams(sid(2), "delivered"), { signature: null }), 403)
      expectRefused(yield* postStatus(statusParams(sid(2), "delivered", { AccountSid: `AC${"c".repeat(32)}` })), 403)
      yield* expectNothingStored
    }).pipe(withServer()))

  it.live("the genuine request (control) is accepted", () =>
    Effect.gen(function*() {
      expectTwiml(yield* postInbound(genuine))
      expect((yield* stored(sid(1))).body).toBe(genuine.Body)
    }).pipe(withServer()))

  it.live("a URL with a query string, signed including it, is accepted", () =>
    Effect.gen(function*() {
      expectTwiml(yield* postInbound(genuine, { query: "?tenant=acme&region=us%2Dwest" }))
      expect((yield* stored(sid(1))).from).toBe(genuine.From)
    }).pipe(withServer()))

  it.live("parameter values are signed untrimmed (a Body with surrounding spaces)", () =>
    Effect.gen(function*() {
      expectTwiml(yield* postInbound(inboundParams(sid(3), { Body: "  spaced out  " })))
      expect((yield* stored(sid(3))).body).toBe("  spaced out  ")
    }).pipe(withServer()))
})

describe("WEBHOOK_BASE_URL with a trailing slash", () => {
  const env = (baseUrl: string) => ({
    TWILIO_ACCOUNT_SID: TEST_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    TWILIO_PHONE_NUMBER: TEST_PHONE,
    WEBHOOK_BASE_URL: baseUrl,
    WEBHOOK_HOST: "127.0.0.1",
    DATABASE_PATH: ":memory:"
  })
  const cases = [
    { configured: "https://twilio-mcp.example.test/", stripped: "https://twilio-mcp.example.test" },
    { configured: "https://proxy.example.test/twilio//", stripped: "https://proxy.example.test/twilio" }
  ]

  cases.forEach(({ configured, stripped }) => {
    const config = Either.getOrThrow(parseConfig(env(configured), { sandbox: false }))

    it(`parseConfig turns ${configured} into ${stripped}`, () => {
      expect(config.webhookBaseUrl).toBe(stripped)
    })

    it.live(`the server configured from ${configured} accepts what Twilio signs for ${stripped}${SMS_PATH}`, () =>
      Effect.gen(function*() {
        expectTwiml(yield* postInbound(genuine, { signedUrl: stripped + SMS_PATH }))
        expectTwiml(yield* postInbound(inboundParams(sid(4)), { query: "?x=1", signedUrl: `${stripped}${SMS_PATH}?x=1` }))
        expect((yield* stored(sid(4))).direction).toBe("inbound")
      // Port 0 (any free port) is for in-process tests only: the environment refuses it.
      }).pipe(withServer({ ...config, webhookPort: 0 })))
  })
})
