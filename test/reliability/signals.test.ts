/**
 * Signals and stdin, on the built server. SIGTERM under webhook load: requests already in flight finish
 * with 2xx (and are stored), new connections are refused, the process exits 0 within the drain bound.
 * Closing stdin ends an MCP process within a second, leaving its port free and no process behind.
 */
import * as fs from "node:fs"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { poll } from "../support/Output.js"
import { canListen } from "../support/ports.js"
import { exitWithin, spawnServer, stopAll, tempDir } from "../support/ServerProcess.js"
import { EMPTY_TWIML, sid } from "../webhooks/harness.js"
import { connectionRefused, freshWebhookEnv, inbound, load, type Outcome, type RawReply, startSlowRequest, storedSids } from "./support.js"

/** The drain bound the README promises: in-flight requests get 10 s after SIGTERM. */
const DRAIN_TIMEOUT_MS = 10_000

const dir = tempDir()
afterEach(() => stopAll())
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const freshEnv = (name: string) => freshWebhookEnv(dir, name)

const expectTwimlReply = (reply: RawReply) => {
  expect(reply.status).toBe(200)
  expect(reply.body).toBe(EMPTY_TWIML)
}

describe("SIGTERM during webhook load (`webhooks` command)", () => {
  it("in-flight requests finish 2xx, new connections are refused, exit 0 well within the drain bound, every 2xx stored", async () => {
    const env = await freshEnv("sigterm")
    const port = Number(env.WEBHOOK_PORT)
    const server = spawnServer(env, ["webhooks"], dir)
    await server.stderr.waitForLine(/webhooks listening/)

    // Requests the server has started reading (it sent 100 Continue), half their body still to come.
    const inFlight = await Promise.all([1, 2, 3].map((n) => startSlowRequest(port, inbound(env, n))))

    let signalledAt = 0
    let signal: () => void = () => undefined
    const underLoad = new Promise<void>((resolve) => (signal = resolve))
    const outcomes = load(env, { total: 600, workers: 8, first: 100, onAck: (acked) => acked === 50 && signal() })
    await underLoad
    signalledAt = Date.now()
    server.child.kill("SIGTERM")

    await poll(() => connectionRefused(port), (refused) => refused, 5_000)
    const replies = await Promise.all(inFlight.map((r) => r.finish()))
    replies.forEach(expectTwimlReply)

    const done = await outcomes
    expect(await exitWithin(server, DRAIN_TIMEOUT_MS + 2_000)).toEqual({ code: 0, signal: null })
    const exitedAfter = Date.now() - signalledAt
    // Nothing was left hanging: the drain ended when the last request did, not at its timeout.
    expect(exitedAfter).toBeLessThan(DRAIN_TIMEOUT_MS / 2)

    // Every request got a 2xx or a connection-level refusal; never an HTTP error.
    const statuses = done.filter((o): o is Extract<Outcome, { status: number }> => "status" in o)
    expect(statuses.filter((o) => o.status !== 200)).toEqual([])
    const errors = new Set(done.flatMap((o) => ("error" in o ? [o.error] : [])))
    for (const error of errors) expect(["ECONNREFUSED", "ECONNRESET", "EPIPE"]).toContain(error)
    expect(errors.has("ECONNREFUSED")).toBe(true)

    const stored = storedSids(env.DATABASE_PATH!)
    const acknowledged = [1, 2, 3, ...statuses.map((o) => o.n)].map((n) => sid(n))
    expect(acknowledged.filter((s) => !stored.has(s))).toEqual([])
  })

  it("a client that stalls mid-body is cut at the drain timeout: exit 0 within the bound", async () => {
    const env = await freshEnv("stalled")
    const server = spawnServer(env, ["webhooks"], dir)
    await server.stderr.waitForLine(/webhooks listening/)
    const stalled = await startSlowRequest(Number(env.WEBHOOK_PORT), inbound(env, 1))

    const signalledAt = Date.now()
    server.child.kill("SIGTERM")
    expect(await exitWithin(server, DRAIN_TIMEOUT_MS + 3_000)).toEqual({ code: 0, signal: null })
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_MS - 500)
    stalled.abort()
  }, DRAIN_TIMEOUT_MS + 10_000)
})

/** Processes whose environment carries `marker`: the server and anything it started. */
const processesWith = (marker: string) =>
  fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(marker)
    } catch {
      return false // exited while we looked, or not ours to read
    }
  })

describe("stdin closing (how Claude Code ends a server)", () => {
  it("ends the MCP process within 1 s with exit 0, frees the webhook port, and leaves no process behind", async () => {
    const marker = `TWILIO_MCP_TEST_MARKER=${process.pid}-${Date.now()}`
    const [key, value] = marker.split("=") as [string, string]
    const env = { ...(await freshEnv("stdin")), [key]: value }
    const server = spawnServer(env, [], dir)
    await server.stderr.waitForLine(/webhooks listening/)
    server.child.stdin.write(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "signals", version: "0" } }
      }) + "\n"
    )
    await server.stdout.waitForLine(/"id":1/)
    expect(processesWith(marker)).toEqual([String(server.child.pid)])

    const closedAt = Date.now()
    server.child.stdin.end()
    expect(await exitWithin(server, 1_000)).toEqual({ code: 0, signal: null })
    expect(Date.now() - closedAt).toBeLessThan(1_000)
    expect(await canListen(Number(env.WEBHOOK_PORT))).toBe(true)
    expect(processesWith(marker)).toEqual([])
  })
})
