/**
 * Secrets and exposure, on the built server against the Twilio emulator. A full session at LOG_LEVEL=debug
 * (and the SDK's TWILIO_LOG_LEVEL=debug) — tool calls that succeed and fail, genuine and forged webhooks,
 * health checks, probes of paths and methods that do not exist, the `check` command, a bad environment —
 * is captured whole (every byte of stdout and stderr, every HTTP status line, header and body) and the auth
 * token appears nowhere in it, in any encoding. The webhook server answers nothing but its routes, with
 * short bodies, and listens on 127.0.0.1 unless told otherwise.
 */
import * as fs from "node:fs"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { parseConfig } from "../../src/config/LoadConfig.js"
import { ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER } from "../support/Emulator.js"
import { exitWithin, type ServerProcess, spawnServer, stopAll } from "../support/ServerProcess.js"
import { type Stack, startStack } from "../support/Stack.js"
import { expectNoLeak, inboundParams, sid, SMS_PATH, STATUS_PATH, statusParams } from "../webhooks/harness.js"
import { type RawReply, type RawRequest, rawRequest, signedPost } from "./support.js"

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterEach(() => stopAll())
afterAll(() => stack?.close())

/** Everything the session's process and endpoints said. */
const transcript: Array<string> = []

const expectNoToken = (texts: ReadonlyArray<string>) => {
  const all = texts.join("\n")
  for (const form of tokenForms) expect(all.includes(form), `found ${form}`).toBe(false)
}

const record = (label: string, reply: RawReply) => {
  transcript.push(`${label} ${reply.status} ${JSON.stringify(reply.headers)}\n${reply.body}`)
  return reply
}

/** The token as it could leak: raw, halves, URL-encoded, and inside a Basic auth header. */
const tokenForms = [
  AUTH_TOKEN,
  AUTH_TOKEN.slice(0, AUTH_TOKEN.length >> 1),
  AUTH_TOKEN.slice(AUTH_TOKEN.length >> 1),
  encodeURIComponent(AUTH_TOKEN),
  Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString("base64"),
  Buffer.from(AUTH_TOKEN).toString("base64")
]

/** JSON-RPC over the spawned server's stdin/stdout; every answer is read from the captured stdout. */
const rpcClient = (server: ServerProcess) => {
  let id = 0
  return async (method: string, params: Record<string, unknown> = {}) => {
    const n = ++id
    server.child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: n, method, params }) + "\n")
    return JSON.parse(await server.stdout.waitForLine(new RegExp(`"id":${n}[,}]`))) as { result?: any; error?: unknown }
  }
}

const port = () => Number(stack.env.WEBHOOK_PORT)
const post = (label: string, request: RawRequest) => rawRequest(port(), request).then((reply) => record(label, reply))
const ours = (params: Record<string, string>) => ({ ...params, AccountSid: ACCOUNT_SID, To: OUR_NUMBER })

/** Paths and methods the server has no route for, and attempts to reach files through it. */
const probes: ReadonlyArray<readonly [string, string, Record<string, string>?]> = [
  ["GET", "/"],
  ["GET", "/webhooks"],
  ["GET", "/webhooks/"],
  ["GET", SMS_PATH],
  ["PUT", SMS_PATH],
  ["DELETE", STATUS_PATH],
  ["PATCH", STATUS_PATH],
  ["OPTIONS", SMS_PATH],
  ["TRACE", "/"],
  ["POST", "/healthz"],
  ["GET", "/../../../etc/passwd"],
  ["GET", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd"],
  ["GET", "/..%2f..%2f..%2fetc%2fpasswd"],
  ["GET", "/healthz/../package.json"],
  ["GET", "/package.json"],
  ["GET", "/.env"],
  ["GET", "/dist/index.js"],
  ["GET", "/dist/"],
  ["GET", "/node_modules/"],
  ["GET", "/src/Config.ts"],
  ["GET", "//healthz"],
  ["GET", "/healthz%00"],
  ["GET", `/${"a".repeat(4_000)}`],
  ["GET", "/healthz", { connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" }],
  ["GET", "/webhooks/twilio/sms", { connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" }]
]

describe("a full session at LOG_LEVEL=debug", () => {
  it("never shows the auth token: not in stdout, stderr, tool results, HTTP answers or health output", async () => {
    const env = { ...stack.env, TWILIO_LOG_LEVEL: "debug" }
    const server = spawnServer(env, [], stack.dir)
    const rpc = rpcClient(server)
    await rpc("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "secrets", version: "0" } })
    server.child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n")
    await server.stderr.waitForLine(/webhooks listening/)
    await rpc("tools/list")

    const call = (name: string, args: Record<string, unknown>) => rpc("tools/call", { name, arguments: args })
    const sent = await call("send_sms", { to: "+15557400001", message: "secret-free" })
    const messageSid = sent.result.structuredContent.messageSid as string
    const failures = [
      await call("send_sms", { to: "+15557400002", message: "hi", from: "+15559990000" }),
      await call("send_sms", { to: "5551234", message: "" }),
      await call("get_message_status", { messageSid: `SM${"d".repeat(32)}` }),
      await call("get_conversation_thread", { conversationId: "2f1b7a52-9a53-4c4e-8d0e-0c6f3e1b9a10" }),
      await call("no_such_tool", {})
    ]
    for (const failure of failures) expect(failure.result.isError).toBe(true)
    for (const [name, args] of [["check_setup", {}], ["sync_messages", {}], ["get_message_status", { messageSid }], ["list_conversations", {}]] as const) {
      expect((await call(name, args)).result.isError).toBeFalsy()
    }

    // Webhooks: genuine ones from the emulator, then forged and malformed ones.
    await stack.emulator.simulateInbound("+15557400001", "a reply")
    await stack.emulator.simulateStatus(messageSid, "delivered")
    const forged = { ...env, TWILIO_AUTH_TOKEN: "forged-auth-token-0123456789abcdef-0000" }
    const unsigned = signedPost(env, SMS_PATH, ours(inboundParams(sid(1))))
    const tampered = signedPost(env, SMS_PATH, ours(inboundParams(sid(2))))
    for (const [label, request] of [
      ["signed with another token", signedPost(forged, SMS_PATH, ours(inboundParams(sid(3))))],
      ["no signature", { ...unsigned, headers: { ...unsigned.headers, "x-twilio-signature": "" } }],
      ["tampered body", { ...tampered, body: tampered.body!.replace("Hello", "Hijack") }],
      ["another account", signedPost(env, SMS_PATH, { ...ours(inboundParams(sid(4))), AccountSid: `AC${"f".repeat(32)}` })],
      ["invalid fields", signedPost(env, STATUS_PATH, { ...ours(statusParams(sid(5), "exploded")) })],
      ["JSON body", { ...unsigned, headers: { ...unsigned.headers, "content-type": "application/json" } }]
    ] as const) {
      const reply = await post(label, request)
      expect(reply.status, label).toBeGreaterThanOrEqual(400)
      expect(reply.status, label).toBeLessThan(500)
    }
    for (let i = 0; i < 3; i++) expect((await post("healthz", { method: "GET", path: "/healthz", headers: {} })).status).toBe(200)
    for (const [method, path, headers] of probes) await post(`${method} ${path.slice(0, 80)}`, { method, path, headers: headers ?? {} })

    server.child.stdin.end()
    expect(await exitWithin(server)).toEqual({ code: 0, signal: null })
    transcript.push(server.stdout.text(), server.stderr.text())

    // The session really produced debug output, failures and webhook traffic: the search is not vacuous.
    expect(server.stderr.text()).toMatch(/level=DEBUG/)
    expect(server.stderr.text()).toMatch(/Invalid webhook signature/)
    expect(server.stdout.text()).toMatch(/not one of this account's SMS senders/)
    // stdout is the protocol channel: JSON-RPC lines only, even with the SDK's own debug logging asked for.
    for (const line of server.stdout.lines()) expect(JSON.parse(line)).toHaveProperty("jsonrpc", "2.0")
    expect(transcript.length).toBeGreaterThan(30)
    expectNoToken(transcript)
  })

  it("nor does the `check` command, or a start-up that fails on a bad environment", async () => {
    const outputs: Array<string> = []
    for (const [env, args] of [[stack.env, ["check"]], [{ ...stack.env, TWILIO_ACCOUNT_SID: "bad" }, []], [{ ...stack.env, WEBHOOK_BASE_URL: "nope" }, ["webhooks"]]] as const) {
      const run = spawnServer(env, args, stack.dir)
      await exitWithin(run)
      // Each run said something (a report, or what is wrong): the search is not vacuous.
      expect(run.stdout.text() + run.stderr.text()).toMatch(/twilio credentials|Environment validation failed/)
      outputs.push(run.stdout.text(), run.stderr.text())
    }
    expectNoToken(outputs)
  })
})

describe("an `http` session at LOG_LEVEL=debug", () => {
  const MCP_TOKEN = "mcp-secret-token-0123456789abcdef-fedcba9876543210"
  const mcpForms = [MCP_TOKEN, MCP_TOKEN.slice(0, MCP_TOKEN.length >> 1), MCP_TOKEN.slice(MCP_TOKEN.length >> 1), Buffer.from(MCP_TOKEN).toString("base64")]

  it("never shows MCP_AUTH_TOKEN nor a presented token, and /mcp answers short refusals without internals", async () => {
    const said: Array<string> = []
    const env = { ...stack.env, MCP_AUTH_TOKEN: `${"r".repeat(40)},${MCP_TOKEN}` }
    const server = spawnServer(env, ["http"], stack.dir)
    await server.stderr.waitForLine(/webhooks listening/)
    const mcp = (label: string, headers: Record<string, string>, body?: string, method = "POST") =>
      rawRequest(port(), {
        method,
        path: "/mcp",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25", ...headers },
        ...(body === undefined ? {} : { body })
      }).then((reply) => {
        said.push(`${label} ${reply.status} ${JSON.stringify(reply.headers)}\n${reply.body}`)
        if (reply.status >= 400) expectNoLeak({ status: reply.status, contentType: reply.headers["content-type"] ?? null, body: reply.body })
        return reply
      })
    const call = (name: string, args: Record<string, unknown>) =>
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } })
    const bearer = { authorization: `Bearer ${MCP_TOKEN}` }

    expect((await mcp("send", bearer, call("send_sms", { to: "+15557400011", message: "hello" }))).status).toBe(200)
    expect((await mcp("bad arguments", bearer, call("send_sms", { to: "5551234", message: "" }))).body).toContain("isError")
    expect((await mcp("unknown tool", bearer, call("no_such_tool", {}))).body).toContain("isError")
    const refused: ReadonlyArray<readonly [string, Record<string, string>, number, string?]> = [
      ["no token", {}, 401],
      ["a token that differs in its last character", { authorization: `Bearer ${MCP_TOKEN.slice(0, -1)}1` }, 401],
      ["the token in the Basic scheme", { authorization: `Basic ${Buffer.from(`x:${MCP_TOKEN}`).toString("base64")}` }, 401],
      ["the token with a foreign Host", { ...bearer, host: "evil.example.com" }, 403],
      ["the token with a foreign Origin", { ...bearer, origin: "https://evil.example.com" }, 403],
      ["GET", bearer, 405, "GET"],
      ["DELETE", bearer, 405, "DELETE"]
    ]
    for (const [label, headers, status, method] of refused) {
      expect((await mcp(label, headers, method === undefined ? call("list_conversations", {}) : undefined, method)).status, label).toBe(status)
    }

    server.child.kill("SIGTERM")
    expect(await exitWithin(server)).toEqual({ code: 0, signal: null })
    // A bad value stops the start-up without quoting it.
    const bad = spawnServer({ ...stack.env, MCP_AUTH_TOKEN: `${MCP_TOKEN} ${MCP_TOKEN}` }, ["http"], stack.dir)
    expect(await exitWithin(bad)).toEqual({ code: 1, signal: null })
    said.push(server.stdout.text(), server.stderr.text(), bad.stdout.text(), bad.stderr.text())

    // Not vacuous: debug output, the refusals and the bad value's problem are all there.
    expect(server.stderr.text()).toMatch(/level=DEBUG/)
    expect(server.stderr.text()).toMatch(/bearer token is not one of MCP_AUTH_TOKEN's/)
    expect(bad.stderr.text()).toMatch(/MCP_AUTH_TOKEN must be/)
    const all = said.join("\n")
    for (const form of [...mcpForms, MCP_TOKEN.slice(0, -1)]) expect(all.includes(form), `found ${form}`).toBe(false)
  })
})

describe("exposure", () => {
  it("anything but the routes: a short 4xx (or the health JSON), no stack trace, no file or directory listing, never an upgrade", async () => {
    const server = spawnServer(stack.env, ["webhooks"], stack.dir)
    await server.stderr.waitForLine(/webhooks listening/)
    for (const [method, path, headers] of probes) {
      const label = `${method} ${path.slice(0, 60)}`
      const reply = await rawRequest(port(), { method, path, headers: headers ?? {} })
      // "//healthz" is read as the health route: the one 200 allowed is the health document itself.
      if (reply.status === 200) expect(Object.keys(JSON.parse(reply.body)).sort(), label).toEqual(["database", "status", "storage", "uptimeSeconds", "version"])
      else expect(reply.status, label).toBeGreaterThanOrEqual(400)
      expect(reply.status, label).toBeLessThan(500)
      expectNoLeak({ status: reply.status, contentType: reply.headers["content-type"] ?? null, body: reply.body })
      expect(reply.body, label).not.toMatch(/Index of|<a href|package\.json|node_modules|root:x:0|\/work\/|dist\/index/i)
    }
    expect(server.stderr.text()).not.toMatch(/\n\s+at /)
  })

  it("the webhook server binds 127.0.0.1 by default (WEBHOOK_HOST unset)", async () => {
    const config = parseConfig(
      { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_PHONE_NUMBER: OUR_NUMBER, WEBHOOK_BASE_URL: "https://example.test" },
      { sandbox: false }
    )
    expect(config._tag === "Right" && config.right.webhookHost).toBe("127.0.0.1")

    const { WEBHOOK_HOST: _host, ...env } = stack.env
    const server = spawnServer(env, ["webhooks"], stack.dir)
    await server.stderr.waitForLine(new RegExp(`webhooks listening on http://127\\.0\\.0\\.1:${port()}`))
    // The kernel's own table of listening sockets: this port is bound to 127.0.0.1 only.
    const listening = (file: string) =>
      fs.readFileSync(file, "utf8").split("\n").slice(1).map((line) => line.trim().split(/\s+/))
        .filter((f) => f[3] === "0A" && parseInt(f[1]!.split(":")[1]!, 16) === port()).map((f) => f[1]!.split(":")[0]!)
    expect(listening("/proc/net/tcp")).toEqual(["0100007F"])
    expect(fs.existsSync("/proc/net/tcp6") ? listening("/proc/net/tcp6") : []).toEqual([])
  })
})
