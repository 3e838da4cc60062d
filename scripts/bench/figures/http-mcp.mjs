// MCP over Streamable HTTP (`http` command): the `tools/call` round trip of every query of the query figure
// on the same seeded store (1,000,000 messages; a tenth with --quick), `initialize` over HTTP, and the RSS
// of the `http` process after that load. One client, one keep-alive connection, requests one at a time:
// latency, not throughput. Every request is a stateless POST with the bearer token, as clients send it.
// The same calls go to a stdio server on the same store, interleaved one by one (the order alternating), so
// both see the same machine: on a shared machine the difference says more than either number alone.
import { randomBytes } from "node:crypto"
import * as http from "node:http"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { freePort, HOST, rssMb, start, stop, waitUntil } from "../lib/procs.mjs"
import { McpProcess, PROTOCOL_VERSION } from "../lib/mcp-client.mjs"
import { percentile } from "../lib/stats.mjs"
import { mb, ms } from "../lib/table.mjs"
import { log, OURS_ENTRY, oursEnv, tempDir } from "../lib/targets.mjs"
import { callPlan, QUERIES, seededStore, warmPageCache } from "./query.mjs"

/** The bound on a `tools/call` round trip over HTTP on the large store. */
const P99_LIMIT_MS = 20

/**
 * A minimal Streamable HTTP client: one POST per request on a keep-alive connection; the answer's SSE `data:`
 * line. `token` is the bearer token, or a function giving each request's.
 */
export const httpClient = (url, token) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  let nextId = 1
  const request = (method, params) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params })
      const outgoing = http.request(url, {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: `Bearer ${typeof token === "function" ? token() : token}`,
          "mcp-protocol-version": PROTOCOL_VERSION,
          "content-length": Buffer.byteLength(body)
        }
      }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => (text += chunk))
        response.on("end", () => {
          if (response.statusCode !== 200) return reject(new Error(`${method}: HTTP ${response.statusCode} ${text}`))
          const data = text.split("\n").find((line) => line.startsWith("data: "))
          const message = JSON.parse(data.slice("data: ".length))
          if (message.error !== undefined) reject(new Error(`${method}: ${message.error.message}`))
          else resolve(message.result)
        })
      })
      outgoing.once("error", reject)
      outgoing.end(body)
    })
  const callTool = async (name, args) => {
    const result = await request("tools/call", { name, arguments: args })
    if (result.isError) throw new Error(`${name} failed: ${result.content?.[0]?.text}`)
    return result
  }
  return { request, callTool, close: () => agent.destroy() }
}

export const timed = async (f) => {
  const startedAt = performance.now()
  await f()
  return performance.now() - startedAt
}

const httpMcp = async ({ quick, record }) => {
  const dir = tempDir("http-mcp")
  const store = await seededStore(dir, quick ? { messages: 100_000, conversations: 1_000 } : { messages: 1_000_000, conversations: 10_000 })
  const perQuery = quick ? 40 : 300
  const calls = callPlan(store, perQuery)
  warmPageCache(store.path)
  record("http.messages", store.messages)
  record("http.perQuery", perQuery)

  const port = await freePort()
  const token = randomBytes(32).toString("hex")
  const child = start(process.execPath, [OURS_ENTRY, "http"], {
    cwd: dir,
    env: { ...(await oursEnv(store.path, port)), MCP_AUTH_TOKEN: token },
    log: join(dir, "http.log"),
    stdin: "ignore",
    stdout: "ignore"
  })
  const client = httpClient(`http://${HOST}:${port}/mcp`, token)
  // Its webhook server on a port of its own (the configuration refuses port 0).
  const stdio = McpProcess.spawn(process.execPath, [OURS_ENTRY], { cwd: dir, env: await oursEnv(store.path, await freePort()), log: join(dir, "stdio.log") })
  try {
    await stdio.initialized
    await waitUntil(`the http server on port ${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`the http server exited with ${child.exitCode}; see ${dir}/http.log`)
      return fetch(`http://${HOST}:${port}/healthz`).then((r) => r.ok, () => false)
    })

    log(`http-mcp: ${perQuery} initialize requests…`)
    const initialize = () =>
      client.request("initialize", { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "twilio-mcp-bench", version: "1" } })
    for (let i = 0; i < 20; i++) await initialize()
    const initializeTimes = []
    for (let i = 0; i < perQuery; i++) initializeTimes.push(await timed(initialize))
    record("http.initialize.p50", percentile(initializeTimes, 50))
    record("http.initialize.p99", percentile(initializeTimes, 99))

    log(`http-mcp: ${calls.length} tools/call requests over HTTP, the same over stdio, interleaved…`)
    for (const call of calls.slice(0, QUERIES.length * 5)) {
      await client.callTool(call.tool, call.args)
      await stdio.callTool(call.tool, call.args)
    }
    const timings = { http: {}, stdio: {} }
    const overHttp = async (call) => (timings.http[call.label] ??= []).push(await timed(() => client.callTool(call.tool, call.args)))
    const overStdio = async (call) => (timings.stdio[call.label] ??= []).push(await timed(() => stdio.callTool(call.tool, call.args)))
    for (const [i, call] of calls.entries()) {
      for (const measure of i % 2 === 0 ? [overHttp, overStdio] : [overStdio, overHttp]) await measure(call)
    }
    for (const { label } of QUERIES) {
      for (const path of ["http", "stdio"]) {
        record(`${path === "http" ? "http" : "http.vs.stdio"}.query.${label}.p50`, percentile(timings[path][label], 50))
        record(`${path === "http" ? "http" : "http.vs.stdio"}.query.${label}.p99`, percentile(timings[path][label], 99))
      }
    }
    record("rss.http.afterLoad", rssMb(child.pid), `after ${calls.length + perQuery + 20} requests on ${store.messages.toLocaleString("en")} messages`)
  } finally {
    client.close()
    await Promise.all([stop(child), stdio.close()])
  }
}

export const figures = { "http-mcp": httpMcp }

/** This figure's rows of the bench table. */
export const rows = () => [
  ...QUERIES.map(({ label }) => {
    const key = (p) => `http.query.${label}.${p}`
    const stdioKey = (p) => `http.vs.stdio.query.${label}.${p}`
    return {
      figure: `query: ${label}`,
      measure: "Streamable HTTP round trip: p99 (p50 in brackets), vs stdio interleaved",
      value: key("p99"),
      fmt: ms,
      note: (r) => `p50 ${ms(r(key("p50")))}; stdio p50 ${ms(r(stdioKey("p50")))}`,
      other: stdioKey("p99"),
      target: `p99 ≤ ${P99_LIMIT_MS} ms`,
      pass: (r) => r(key("p99")) <= P99_LIMIT_MS
    }
  }),
  {
    figure: "initialize over HTTP",
    measure: "POST initialize round trip: p99 (p50 in brackets)",
    value: "http.initialize.p99",
    fmt: ms,
    note: (r) => `p50 ${ms(r("http.initialize.p50"))}`
  },
  { figure: "memory", measure: "RSS of the `http` process after the HTTP load", value: "rss.http.afterLoad", fmt: mb }
]
