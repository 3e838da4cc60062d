/**
 * /mcp on the real router and Node server, beside the webhook routes, over the test service graph
 * (in-memory Twilio, `:memory:` SQLite), with raw HTTP on 127.0.0.1 (node:http: any Host header can be
 * sent). Who is refused, with which status and headers, and that a refused request executes nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as http from "node:http"
import { McpRoute } from "../../src/http/McpRoute.js"
import { WebhookServer } from "../../src/http/WebhookServer.js"
import { tools } from "../../src/mcp/tools/index.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { collectLogs } from "../support/Logs.js"
import { TestLayer } from "../support/TestLayer.js"
import { rawRequest } from "../reliability/support.js"
import { expectNoLeak, expectNothingStored, inboundParams, postInbound, serverPort, sid } from "../webhooks/harness.js"

const TOKEN = "route-test-token-0123456789abcdef-0123456789"
const WRONG = "route-test-token-0123456789abcdef-0123456780"

/** The `http` command's router: webhooks and /mcp on one server, bound to 127.0.0.1 on a free port. */
const withMcpServer = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.provide(
      WebhookServer.layer({ portTaken: "fail", alsoServe: McpRoute(tools) }).pipe(
        Layer.provideMerge(TestLayer({ mcpAuthTokens: [Redacted.make(TOKEN)], mcpAllowedHosts: ["mcp.example.test"] }))
      )
    ),
    Logger.withMinimumLogLevel(LogLevel.None)
  )

interface RawReply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

interface RawRequest {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: string
  /** Sent in 8 KiB chunks without Content-Length. */
  readonly chunked?: boolean
}

/** One request to /mcp: Host is 127.0.0.1:port unless `headers` says otherwise. A connection cut before any answer is status 0. */
const raw = (request: RawRequest) =>
  Effect.flatMap(serverPort, (port) =>
    Effect.async<RawReply>((resume) => {
      const headers = { host: `127.0.0.1:${port}`, ...request.headers }
      const outgoing = http.request({ host: "127.0.0.1", port, method: request.method ?? "POST", path: "/mcp", headers }, (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (body += chunk))
        response.on("end", () => resume(Effect.succeed({ status: response.statusCode!, headers: response.headers, body })))
      })
      outgoing.on("error", () => resume(Effect.succeed({ status: 0, headers: {}, body: "" })))
      if (request.body === undefined) return void outgoing.end()
      if (!request.chunked) return void outgoing.end(request.body)
      for (let i = 0; i < request.body.length; i += 8192) outgoing.write(request.body.slice(i, i + 8192))
      outgoing.end()
    }))

const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" }
const AUTHORIZED = { ...MCP_HEADERS, authorization: `Bearer ${TOKEN}` }

const rpc = (method: string, params: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })

/** What a refused request asks for: a send that would be stored and reach (the in-memory) Twilio. */
const SEND = rpc("tools/call", { name: "send_sms", arguments: { to: "+15557770001", message: "must never be sent" } })

/** `SEND` padded with spaces (still valid JSON) to `bytes`. */
const sendOfSize = (bytes: number) => SEND + " ".repeat(bytes - SEND.length)

/** The JSON-RPC result carried by an SSE answer's `data:` line. */
const resultOf = (reply: RawReply) => {
  expect(reply.status).toBe(200)
  expect(reply.headers["content-type"]).toBe("text/event-stream")
  const data = reply.body.split("\n").find((line) => line.startsWith("data: "))
  return JSON.parse(data!.slice("data: ".length)).result
}

const expectNothingExecuted = Effect.gen(function*() {
  yield* expectNothingStored
  expect(yield* Effect.flatMap(TwilioMemory, (twilio) => twilio.sent)).toEqual([])
})

interface Refusal {
  readonly name: string
  readonly request: RawRequest
  readonly status: number
  readonly headers?: Record<string, string | RegExp>
}

const CHALLENGE = "Bearer realm=\"twilio-mcp\""

const refusals: ReadonlyArray<Refusal> = [
  { name: "no Authorization header", request: { headers: MCP_HEADERS, body: SEND }, status: 401, headers: { "www-authenticate": CHALLENGE } },
  {
    name: "a wrong token",
    request: { headers: { ...MCP_HEADERS, authorization: `Bearer ${WRONG}` }, body: SEND },
    status: 401,
    headers: { "www-authenticate": `${CHALLENGE}, error="invalid_token"` }
  },
  {
    name: "the token in the Basic scheme",
    request: { headers: { ...MCP_HEADERS, authorization: `Basic ${Buffer.from(`twilio:${TOKEN}`).toString("base64")}` }, body: SEND },
    status: 401,
    headers: { "www-authenticate": CHALLENGE }
  },
  {
    name: "the token without a scheme",
    request: { headers: { ...MCP_HEADERS, authorization: TOKEN }, body: SEND },
    status: 401,
    headers: { "www-authenticate": CHALLENGE }
  },
  { name: "a foreign Host, with the token", request: { headers: { ...AUTHORIZED, host: "evil.example.com" }, body: SEND }, status: 403 },
  { name: "a foreign Host that ends like an allowed one", request: { headers: { ...AUTHORIZED, host: "mcp.example.test.evil.example.com" }, body: SEND }, status: 403 },
  { name: "a foreign Origin, with the token", request: { headers: { ...AUTHORIZED, origin: "http://evil.example.com" }, body: SEND }, status: 403 },
  { name: "a foreign Host and no token (Host first)", request: { headers: { ...MCP_HEADERS, host: "evil.example.com" }, body: SEND }, status: 403 },
  { name: "GET (no session to stream)", request: { method: "GET", headers: AUTHORIZED }, status: 405, headers: { allow: "POST" } },
  { name: "DELETE (no session to end)", request: { method: "DELETE", headers: AUTHORIZED }, status: 405, headers: { allow: "POST" } },
  { name: "PUT", request: { method: "PUT", headers: AUTHORIZED, body: SEND }, status: 405, headers: { allow: "POST" } },
  { name: "GET without a token", request: { method: "GET", headers: MCP_HEADERS }, status: 401 },
  { name: "a body of 65,537 bytes (64 KiB + 1)", request: { headers: AUTHORIZED, body: sendOfSize(65_537) }, status: 413, headers: { connection: "close" } },
  { name: "no Accept for SSE (the SDK's check)", request: { headers: { ...AUTHORIZED, accept: "application/json" }, body: SEND }, status: 406 },
  { name: "not JSON (the SDK's check)", request: { headers: { ...AUTHORIZED, "content-type": "text/plain" }, body: SEND }, status: 415 },
  { name: "malformed JSON (the SDK's check)", request: { headers: AUTHORIZED, body: SEND.slice(0, -1) }, status: 400 }
]

describe("/mcp refuses, before anything is executed", () => {
  refusals.forEach(({ headers = {}, name, request, status }) =>
    it.live(`${status} for ${name}`, () =>
      Effect.gen(function*() {
        const reply = yield* raw(request)
        expect(reply.status).toBe(status)
        for (const [header, value] of Object.entries(headers)) {
          if (typeof value === "string") expect(reply.headers[header]).toBe(value)
          else expect(reply.headers[header]).toMatch(value)
        }
        // A JSON-RPC error the client can show, without internals or the token.
        expect(JSON.parse(reply.body)).toMatchObject({ jsonrpc: "2.0", error: { code: expect.any(Number), message: expect.any(String) }, id: null })
        expectNoLeak({ status: reply.status, contentType: null, body: reply.body })
        expect(reply.body).not.toContain(TOKEN)
        yield* expectNothingExecuted
      }).pipe(withMcpServer)))

  it.live("over 64 KiB sent chunked, without Content-Length: 413 (the SDK counts as it reads) or the connection closed", () =>
    Effect.gen(function*() {
      const reply = yield* raw({ headers: AUTHORIZED, body: sendOfSize(70_000), chunked: true })
      expect([413, 0]).toContain(reply.status)
      yield* expectNothingExecuted
    }).pipe(withMcpServer))
})

describe("/mcp serves", () => {
  it.live("a tools/call with the token: the tool runs and the result comes as an SSE message", () =>
    Effect.gen(function*() {
      const result = resultOf(yield* raw({ headers: AUTHORIZED, body: SEND }))
      expect(result.isError).toBeFalsy()
      expect(result.structuredContent).toMatchObject({ to: "+15557770001", status: "queued" })
      expect((yield* Effect.flatMap(TwilioMemory, (twilio) => twilio.sent)).map((m) => m.body)).toEqual(["must never be sent"])
    }).pipe(withMcpServer))

  it.live("a body of exactly 64 KiB", () =>
    Effect.gen(function*() {
      expect(resultOf(yield* raw({ headers: AUTHORIZED, body: sendOfSize(65_536) })).structuredContent).toMatchObject({ status: "queued" })
    }).pipe(withMcpServer))

  it.live.each<readonly [string, Record<string, string>]>([
    ["WEBHOOK_BASE_URL's host", { host: "twilio-mcp.example.test" }],
    ["a host from MCP_ALLOWED_HOSTS, with its Origin", { host: "mcp.example.test:443", origin: "https://mcp.example.test" }],
    ["localhost, with a loopback Origin", { host: "localhost:3000", origin: "http://127.0.0.1:6274" }]
  ])("requests naming %s", ([, names]) =>
    Effect.gen(function*() {
      const listed = resultOf(yield* raw({ headers: { ...AUTHORIZED, ...names }, body: rpc("tools/list") }))
      expect(listed.tools.map((t: { name: string }) => t.name)).toEqual(tools.map((t) => t.name))
    }).pipe(withMcpServer))

  it.live("stateless: initialize answers without an Mcp-Session-Id, and a tools/call needs no session", () =>
    Effect.gen(function*() {
      const initialized = yield* raw({
        headers: AUTHORIZED,
        body: rpc("initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } })
      })
      expect(resultOf(initialized)).toMatchObject({ protocolVersion: "2025-11-25", capabilities: { tools: {}, logging: {} } })
      expect(initialized.headers["mcp-session-id"]).toBeUndefined()
      expect(resultOf(yield* raw({ headers: AUTHORIZED, body: rpc("tools/call", { name: "list_conversations", arguments: {} }) })))
        .toMatchObject({ structuredContent: { conversations: [] } })
    }).pipe(withMcpServer))

  it.live("logging/setLevel", () =>
    Effect.gen(function*() {
      expect(resultOf(yield* raw({ headers: AUTHORIZED, body: rpc("logging/setLevel", { level: "warning" }) }))).toEqual({})
    }).pipe(withMcpServer))

  it.live("the webhook routes on the same port keep Twilio signatures: a bearer token does not stand in for one", () =>
    Effect.gen(function*() {
      const unsigned = yield* postInbound(inboundParams(sid(1)), { signature: null })
      expect(unsigned.status).toBe(403)
      expect((yield* postInbound(inboundParams(sid(2)))).status).toBe(200)
    }).pipe(withMcpServer))
})

describe("the log", () => {
  /** The server with every log line kept (debug and up). */
  const withLogs = () => {
    const logs = collectLogs()
    const provide = <A, E, R>(self: Effect.Effect<A, E, R>) =>
      self.pipe(
        Effect.provide(
          WebhookServer.layer({ portTaken: "fail", alsoServe: McpRoute(tools) }).pipe(
            Layer.provideMerge(TestLayer({ mcpAuthTokens: [Redacted.make(TOKEN)] }))
          )
        ),
        Effect.provide(Logger.replace(Logger.defaultLogger, logs.logger)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
    return { ...logs, provide }
  }
  const wrongToken: RawRequest = { headers: { ...MCP_HEADERS, authorization: `Bearer ${WRONG}` }, body: SEND }
  const foreignHost: RawRequest = { headers: { ...AUTHORIZED, host: "evil.example.com" }, body: SEND }

  it.live("names refusals but never a token, right or wrong", () => {
    const logs = withLogs()
    return Effect.gen(function*() {
      yield* raw(wrongToken)
      yield* raw(foreignHost)
      yield* raw({ headers: AUTHORIZED, body: SEND })
      const log = logs.lines().join("\n")
      expect(log).toContain("the bearer token is not one of MCP_AUTH_TOKEN's")
      expect(log).toContain("host evil.example.com is not this server")
      expect(log).not.toContain(TOKEN)
      expect(log).not.toContain(WRONG)
      expect(log).not.toContain(TOKEN.slice(0, 24))
    }).pipe(logs.provide)
  })

  it.effect("many refused requests: one warning at once, then one line per reason per minute with the count", () => {
    const logs = withLogs()
    return Effect.gen(function*() {
      for (let i = 0; i < 20; i++) expect((yield* raw(wrongToken)).status).toBe(401)
      for (let i = 0; i < 10; i++) expect((yield* raw(foreignHost)).status).toBe(403)
      const warnings = () => logs.lines().filter((l) => l.startsWith("WARN"))
      expect(warnings()).toHaveLength(2)
      yield* TestClock.adjust("1 minute")
      yield* logs.logged(/19 more MCP requests rejected in the last 1m: wrong bearer token/)
      yield* logs.logged(/9 more MCP requests rejected in the last 1m: Host not allowed/)
      expect(warnings()).toHaveLength(4)
    }).pipe(logs.provide)
  })
})

describe("/mcp: edges", () => {
  /** A request whose headers are a list, so that a name can be sent twice. */
  const listed = (headers: ReadonlyArray<string>, body = SEND) =>
    Effect.flatMap(serverPort, (port) =>
      Effect.promise(() => rawRequest(port, { method: "POST", path: "/mcp", headers: [...Object.entries(MCP_HEADERS).flat(), ...headers], body })))

  it.live("two Authorization headers (the first one right) or two Host headers: 400, nothing executed", () =>
    Effect.gen(function*() {
      const port = yield* serverPort
      const here = `127.0.0.1:${port}`
      for (
        const headers of [
          ["host", here, "authorization", `Bearer ${TOKEN}`, "authorization", `Bearer ${WRONG}`],
          ["host", here, "host", "evil.example.com", "authorization", `Bearer ${TOKEN}`]
        ]
      ) {
        const reply = yield* listed(headers)
        expect(reply.status).toBe(400)
        expect(reply.body).not.toContain(TOKEN)
      }
      yield* expectNothingExecuted
      // The same request with each header once is served.
      expect(resultOf(yield* listed(["host", here, "authorization", `Bearer ${TOKEN}`])).isError).toBeFalsy()
    }).pipe(withMcpServer))

  // JSON.parse keeps "__proto__" as a key; a parser that assigns it would drop it and run the call without it.
  for (const key of ["__proto__", "constructor", "prototype"]) {
    it.live(`a tool argument named ${key} is refused as unknown, and nothing is sent`, () =>
      Effect.gen(function*() {
        const body = SEND.replace("\"message\":", `"${key}":{"dryRun":true},"message":`)
        expect(JSON.parse(body).params.arguments).toHaveProperty([key])
        const result = resultOf(yield* raw({ headers: AUTHORIZED, body }))
        expect(result.isError).toBe(true)
        expect(result.content[0].text).toContain(`${key}: is not a parameter of this tool`)
        yield* expectNothingExecuted
      }).pipe(withMcpServer))
  }
})
