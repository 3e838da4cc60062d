/**
 * Shared helpers for the webhook tests: the real `WebhookServer` (router, Node HTTP server, SDK signature
 * check) on the test service graph, real HTTP over 127.0.0.1, and requests signed with the Twilio SDK for
 * the configured public URL — the request arrives on loopback but was "signed" for https://…, which is
 * exactly the behind-a-proxy case.
 */
import { expect } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import inboundGeo from "../fixtures/inbound-geo.json" with { type: "json" }
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import twilio from "twilio"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import { WebhookServer } from "../../src/http/WebhookServer.js"
import { MessageStore } from "../../src/storage/MessageStore.js"
import type { PhoneNumber } from "../../src/domain/Address.js"
import { SMS_PATH, STATUS_PATH } from "../../src/domain/WebhookPaths.js"
import { Sending } from "../../src/messaging/Sending.js"
import { collectLogs } from "../support/Logs.js"
import { TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_PHONE, TestLayer } from "../support/TestLayer.js"

export { SMS_PATH, STATUS_PATH }

export const ALICE = "+15551230001"
export const FORM = "application/x-www-form-urlencoded"
export const EMPTY_TWIML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"

/** The webhook server bound to 127.0.0.1 on a free port, over all services (in-memory Twilio, `:memory:` SQLite). */
export const serverLayer = (overrides: Partial<AppConfigShape> = {}) =>
  WebhookServer.layer({ portTaken: "fail" }).pipe(Layer.provideMerge(TestLayer(overrides)))

/** Runs a test body against a fresh server and database; the server's rejection warnings are muted. */
export const withServer = (overrides: Partial<AppConfigShape> = {}) =>
<A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.provide(serverLayer(overrides)), Logger.withMinimumLogLevel(LogLevel.None))

/**
 * Runs a test body against a fresh server whose log lines (level and message, at debug and above) are
 * collected: `lines()` so far, `logged(pattern)` waits for one.
 */
export const withLoggedServer = (overrides: Partial<AppConfigShape> = {}) => {
  const log = collectLogs()
  return {
    ...log,
    provide: <A, E, R>(self: Effect.Effect<A, E, R>) =>
      self.pipe(
        Effect.provide(serverLayer(overrides).pipe(Layer.provide(Logger.replace(Logger.defaultLogger, log.logger)))),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
  }
}

/** A deterministic Twilio-shaped SID: prefix + 32 hex digits. */
export const sid = (n: number, prefix: "SM" | "MM" = "SM") => prefix + n.toString(16).padStart(32, "0")

export type Params = ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>

const pairsOf = (params: Params): ReadonlyArray<readonly [string, string]> =>
  Array.isArray(params) ? params : Object.entries(params)

/** Params the way the SDK signs them: a repeated name becomes an array of its values. */
const signable = (params: Params): Record<string, string | Array<string>> => {
  const grouped: Record<string, Array<string>> = {}
  for (const [key, value] of pairsOf(params)) (grouped[key] ??= []).push(value)
  return Object.fromEntries(Object.entries(grouped).map(([key, values]) => [key, values.length === 1 ? values[0]! : values]))
}

/** What Twilio would post for an inbound SMS (a realistic superset: deprecated SIDs, geo fields…). */
export const inboundParams = (messageSid: string, overrides: Record<string, string> = {}): Record<string, string> => ({
  ...inboundGeo,
  SmsMessageSid: messageSid,
  SmsSid: messageSid,
  Body: "Hello from Alice",
  To: TEST_PHONE,
  MessageSid: messageSid,
  AccountSid: TEST_ACCOUNT_SID,
  From: ALICE,
  ...overrides
})

/** What Twilio posts to a message's StatusCallback. */
export const statusParams = (messageSid: string, status: string, overrides: Record<string, string> = {}): Record<string, string> => ({
  SmsSid: messageSid,
  SmsStatus: status,
  MessageStatus: status,
  To: ALICE,
  MessageSid: messageSid,
  AccountSid: TEST_ACCOUNT_SID,
  From: TEST_PHONE,
  ApiVersion: "2010-04-01",
  ...overrides
})

export const without = (params: Record<string, string>, ...keys: ReadonlyArray<string>): Record<string, string> =>
  Object.fromEntries(Object.entries(params).filter(([key]) => !keys.includes(key)))

export interface Reply {
  readonly status: number
  readonly contentType: string | null
  readonly body: string
  readonly allow?: string | null
}

/** The port the real server bound (the config asks for port 0). */
export const serverPort = Effect.map(WebhookServer, (server) => Option.getOrThrow(server.address).port)

/** One real HTTP request to the server on 127.0.0.1. */
export const request = (pathAndQuery: string, init: RequestInit = {}) =>
  Effect.flatMap(serverPort, (port) =>
    Effect.promise(async (): Promise<Reply> => {
      // `duplex` lets a streamed (chunked) body be sent; Node's fetch requires it for streams.
      const response = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, { ...init, duplex: "half" } as RequestInit)
      return {
        status: response.status,
        contentType: response.headers.get("content-type"),
        allow: response.headers.get("allow"),
        body: await response.text()
      }
    }))

export interface PostOptions {
  /** Appended to the path, e.g. "?tenant=a"; signed with it unless `signedUrl` says otherwise. */
  readonly query?: string
  /** The header value to send; `null` sends none. Default: the SDK's signature. */
  readonly signature?: string | null
  /** The token to sign with (default: the configured test token). */
  readonly token?: string
  /** The URL to sign (default: the configured WEBHOOK_BASE_URL + path + query). */
  readonly signedUrl?: string
  /** Params to sign when they differ from the ones sent (a tampered body). */
  readonly signedParams?: Params
  readonly contentType?: string
  /** A raw body instead of the urlencoded params. */
  readonly body?: RequestInit["body"]
}

/** Posts `params` as a form to `path`, signed like Twilio signs unless the options say otherwise. */
export const postForm = (path: string, params: Params, options: PostOptions = {}) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    const pathAndQuery = path + (options.query ?? "")
    const signature = options.signature !== undefined
      ? options.signature
      : twilio.getExpectedTwilioSignature(
        options.token ?? TEST_AUTH_TOKEN,
        options.signedUrl ?? Redacted.value(config.webhookSigningBaseUrl) + pathAndQuery,
        signable(options.signedParams ?? params)
      )
    const headers: Record<string, string> = { "content-type": options.contentType ?? FORM }
    if (signature !== null) headers["x-twilio-signature"] = signature
    const body = options.body ?? new URLSearchParams(pairsOf(params) as Array<[string, string]>).toString()
    return yield* request(pathAndQuery, { method: "POST", headers, body })
  })

export const postInbound = (params: Params, options?: PostOptions) => postForm(SMS_PATH, params, options)
export const postStatus = (params: Params, options?: PostOptions) => postForm(STATUS_PATH, params, options)

/** Twilio's expected answer: 200, text/xml, the empty TwiML document. */
export const expectTwiml = (reply: Reply) => {
  expect(reply.status).toBe(200)
  expect(reply.contentType).toMatch(/^text\/xml\b/)
  expect(reply.body).toBe(EMPTY_TWIML)
}

/** A refusal: the status, and a body that is short text without a stack trace or internals. */
export const expectRefused = (reply: Reply, status: number) => {
  expect(reply.status).toBe(status)
  expectNoLeak(reply)
}

export const expectNoLeak = (reply: Reply) => {
  // A stack frame is "at fn (file:line:col)" or "at file:line:col"; a quoted value such as "at most 128
  // characters … (3058 characters)" is not one.
  expect(reply.body).not.toMatch(/\bat \S+ \([^)]*:\d+|\.[jt]s:\d+|node_modules|Error:|\[object /)
  expect(reply.body.length).toBeLessThan(2_000)
}

/** Row counts straight from SQLite. */
export const countRows = (table: "messages" | "message_events" | "conversations") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql(table)}`, (rows) => rows[0]!.n))

export const countEvents = (messageSid: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ n: number }>`SELECT COUNT(*) AS n FROM message_events WHERE message_sid = ${messageSid}`, (rows) => rows[0]!.n))

export const expectNothingStored = Effect.gen(function*() {
  expect(yield* countRows("messages")).toBe(0)
  expect(yield* countRows("message_events")).toBe(0)
  expect(yield* countRows("conversations")).toBe(0)
})

/** An outbound message through `Messaging.send` (in-memory Twilio): its SID and conversation. */
export const sendTo = (to: string, message = "ping") =>
  Effect.gen(function*() {
    const sent = yield* Effect.flatMap(Sending, (m) => m.send({ to: to as PhoneNumber, message }))
    if (!("messageSid" in sent) || sent.conversationId === null) throw new Error(`not a stored send: ${JSON.stringify(sent)}`)
    return { messageSid: sent.messageSid, conversationId: sent.conversationId }
  })

/** The stored message, which must exist. */
export const stored = (messageSid: string) =>
  Effect.flatMap(MessageStore, (store) => Effect.map(store.findBySid(messageSid), Option.getOrThrow))
