// Replies without a public URL (issue 21): this server fetching from the Twilio emulator (`emulate`) through a
// counting proxy on 127.0.0.1. Reply latency: the emulator stores an inbound text while `wait_for_reply` waits →
// the wait returns it. Twilio API requests per hour: idle (no wait, no send), with one wait active, and with
// webhooks (INBOUND=webhook). CPU while idle in fetch mode.
import { createEmulator } from "emulate"
import * as http from "node:http"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { setTimeout as sleep } from "node:timers/promises"
import { McpProcess } from "../lib/mcp-client.mjs"
import { cpuSeconds, freePort, HOST } from "../lib/procs.mjs"
import { percentile } from "../lib/stats.mjs"
import { ms, percent, row } from "../lib/table.mjs"
import { log, OURS_ENTRY, tempDir } from "../lib/targets.mjs"

const ACCOUNT_SID = `AC${"be".repeat(16)}`
const AUTH_TOKEN = "bench-fetch-auth-token-0123456789abcdef"
const OUR_NUMBER = "+15550002222"
const authorization = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString("base64")}`

/** The emulator, and in front of it a proxy that keeps the time of every REST request the server makes. */
const startTwilio = async () => {
  const emulator = await createEmulator({
    service: "twilio",
    hostname: HOST,
    port: 0,
    seed: { twilio: { account: { sid: ACCOUNT_SID, auth_token: AUTH_TOKEN }, phone_numbers: [{ phone_number: OUR_NUMBER }] } }
  })
  const target = `http://${HOST}:${new URL(emulator.url).port}`
  const requests = []
  const proxy = http.createServer(async (request, response) => {
    const chunks = []
    for await (const chunk of request) chunks.push(chunk)
    requests.push({ at: performance.now(), what: `${request.method} ${new URL(request.url, target).pathname}` })
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => k !== "host" && k !== "content-length"))
    const answer = await fetch(target + request.url, { method: request.method, headers, ...(request.method === "GET" ? {} : { body: Buffer.concat(chunks) }) })
    response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" })
    response.end(Buffer.from(await answer.arrayBuffer()))
  })
  await new Promise((resolve) => proxy.listen(0, HOST, resolve))
  const simulateInbound = async (from, body) => {
    const response = await fetch(`${target}/_twilio/simulate/inbound-message`, {
      method: "POST",
      headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ To: OUR_NUMBER, From: from, Body: body }).toString()
    })
    if (!response.ok) throw new Error(`simulate inbound: HTTP ${response.status}`)
  }
  return {
    url: `http://${HOST}:${proxy.address().port}`,
    simulateInbound,
    /** Requests since `since` (performance.now()). */
    since: (since) => requests.filter((r) => r.at >= since),
    close: async () => {
      proxy.closeAllConnections()
      await new Promise((resolve) => proxy.close(resolve))
      await emulator.close()
    }
  }
}

/** This server on `twilio`, in fetch mode (no WEBHOOK_BASE_URL) unless `env` says otherwise. */
const spawnServer = async (dir, twilio, env = {}) => {
  const server = McpProcess.spawn(process.execPath, [OURS_ENTRY], {
    cwd: dir,
    env: {
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_PHONE_NUMBER: OUR_NUMBER,
      TWILIO_API_BASE_URL: twilio.url,
      DATABASE_PATH: join(dir, "fetch.db"),
      WEBHOOK_HOST: HOST,
      WEBHOOK_PORT: String(await freePort()),
      ...env
    },
    log: join(dir, "fetch.log")
  })
  await server.initialized
  await server.callTool("list_conversations", {})
  return server
}

const contact = (i) => `+1555300${String(i).padStart(4, "0")}`

/** 50 replies, each stored by the emulator at a random moment of a wait: from then until the wait returns it. */
const latency = async ({ quick, record }) => {
  const dir = tempDir("fetch-latency")
  const twilio = await startTwilio()
  const server = await spawnServer(dir, twilio)
  try {
    const count = quick ? 10 : 50
    const latencies = []
    for (let i = 0; i < count; i++) {
      const waiting = server.callTool("wait_for_reply", { from: contact(i), timeoutSeconds: 30 }, { timeoutMs: 45_000 })
      // Somewhere in the fetch cycle: the reply lands at any phase of the 2 s cadence.
      await sleep(300 + Math.random() * 2000)
      const storedAt = performance.now()
      await twilio.simulateInbound(contact(i), `reply ${i}`)
      const result = await waiting
      if (result.structuredContent?.status !== "reply") throw new Error(`wait_for_reply ${i}: ${JSON.stringify(result.structuredContent)}`)
      latencies.push(performance.now() - storedAt)
    }
    record("fetch.latencyP50", percentile(latencies, 50), `${count} replies`)
    record("fetch.latencyP95", percentile(latencies, 95), `${count} replies, fast cadence 2 s`)
  } finally {
    await server.close()
    await twilio.close()
  }
}

/**
 * Requests per hour. Idle: from the measured interval between fetches over a window of a few idle periods (the
 * schedule repeats it; 10 minutes would show the same interval ten times), and the CPU over that window. While
 * one wait is active: requests counted over a window. With webhooks: requests counted in steady state.
 */
const requests = async ({ quick, record }) => {
  const dir = tempDir("fetch-requests")
  const twilio = await startTwilio()
  const server = await spawnServer(dir, twilio)
  try {
    // Start-up's first fetch over, then the idle cadence alone (no wait, no send).
    await sleep(5_000)
    const window = quick ? 65_000 : 185_000
    const startedAt = performance.now()
    const cpuBefore = cpuSeconds(server.pid)
    await sleep(window)
    const cpu = cpuSeconds(server.pid) - cpuBefore
    const wall = (performance.now() - startedAt) / 1000
    const idle = twilio.since(startedAt)
    const lists = idle.filter((r) => r.what.endsWith("/Messages.json")).map((r) => r.at)
    const intervals = lists.slice(1).map((at, i) => (at - lists[i]) / 1000)
    const meanInterval = intervals.length === 0 ? wall : intervals.reduce((a, b) => a + b, 0) / intervals.length
    record("fetch.idlePerHour", 3600 / meanInterval * (idle.length / Math.max(lists.length, 1)), `${idle.length} requests in ${wall.toFixed(0)} s, one list every ${meanInterval.toFixed(1)} s`)
    record("fetch.idleCpu", (cpu / wall) * 100, `${(cpu * 1000).toFixed(0)} ms CPU in ${wall.toFixed(0)} s`)

    const waitWindow = quick ? 10 : 30
    const waitStart = performance.now()
    await server.callTool("wait_for_reply", { from: contact(9999), timeoutSeconds: waitWindow }, { timeoutMs: (waitWindow + 15) * 1000 })
    const waited = (performance.now() - waitStart) / 1000
    const during = twilio.since(waitStart).length
    record("fetch.waitingPerHour", during * 3600 / waited, `${during} requests in ${waited.toFixed(0)} s`)
  } finally {
    await server.close()
    await twilio.close()
  }

  const webhookDir = tempDir("fetch-webhooks")
  const webhookTwilio = await startTwilio()
  const webhookServer = await spawnServer(webhookDir, webhookTwilio, { WEBHOOK_BASE_URL: "https://bench.twilio-mcp.test", INBOUND: "webhook" })
  try {
    // Start-up's catch-up over: steady state, with a wait active.
    await sleep(5_000)
    const window = quick ? 10 : 30
    const startedAt = performance.now()
    await webhookServer.callTool("wait_for_reply", { from: contact(9998), timeoutSeconds: window }, { timeoutMs: (window + 15) * 1000 })
    const seconds = (performance.now() - startedAt) / 1000
    const count = webhookTwilio.since(startedAt).length
    record("fetch.webhookPerHour", count * 3600 / seconds, `${count} requests in ${seconds.toFixed(0)} s, a wait active`)
  } finally {
    await webhookServer.close()
    await webhookTwilio.close()
  }
  log("fetch: requests per hour measured")
}

export const figures = { "fetch-latency": latency, "fetch-requests": requests }

const perHour = (v) => `${Math.round(v).toLocaleString("en")} /h`

export const rows = () => [
  row("replies without a URL", "wait_for_reply latency p50", { value: "fetch.latencyP50", fmt: ms }),
  row("replies without a URL", "wait_for_reply latency p95", { value: "fetch.latencyP95", fmt: ms, target: "≤ 3 s", pass: (r) => r("fetch.latencyP95") <= 3000 }),
  row("replies without a URL", "Twilio requests, idle", { value: "fetch.idlePerHour", fmt: perHour, target: "≤ 70 /h", pass: (r) => r("fetch.idlePerHour") <= 70 }),
  row("replies without a URL", "Twilio requests, one wait active", { value: "fetch.waitingPerHour", fmt: perHour, target: "≈ 1,800 /h (every 2 s)" }),
  row("replies without a URL", "Twilio requests, webhooks configured", { value: "fetch.webhookPerHour", fmt: perHour, target: "0", pass: (r) => r("fetch.webhookPerHour") === 0 }),
  row("replies without a URL", "CPU of one core, idle in fetch mode", { value: "fetch.idleCpu", fmt: percent, target: "< 1 %", pass: (r) => r("fetch.idleCpu") < 1 })
]
