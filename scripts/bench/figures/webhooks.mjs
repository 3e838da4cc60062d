// Webhook ingest and status callbacks: signed requests with unique MessageSids, N keep-alive connections
// for a fixed time, against this server's `webhooks` process, the peer's Express server and the raw
// ceiling, interleaved round by round. Each target has its own database.
import { join } from "node:path"
import { cpuSeconds, output, rssMb, stop } from "../lib/procs.mjs"
import { seedOutbound } from "../lib/seed.mjs"
import { median, medianRatio, rotate } from "../lib/stats.mjs"
import { ACCOUNT_SID, AUTH_TOKEN, BASE_URL, log, OUR_NUMBER, REPO, SMS_PATH, STATUS_PATH, tempDir, webhookServers } from "../lib/targets.mjs"

const NAMES = ["ours", "peer", "ceiling"]
export const CONNECTIONS = [10, 50]
const SENDERS = 1000
/** Requests precomputed for a target's first run (full, quick); later runs size the pool from its rate. */
const FIRST_POOL = { full: 120_000, quick: 15_000 }

const runLoad = async (dir, options) =>
  JSON.parse(
    await output(process.execPath, [join(REPO, "scripts", "bench", "loadgen.mjs"), JSON.stringify(options)], {
      timeoutMs: options.warmupMs + options.durationMs + 120_000,
      log: join(dir, "loadgen.log")
    })
  )

/**
 * One timed run against one target: seeds the messages status callbacks refer to, loads the server, and
 * adds its CPU time per answered request (steadier than req/s when other jobs share the machine).
 */
const runOnce = async ({ dir, kind, name, server, connections, timing, count, sidBase }) => {
  // Two callbacks (sent, delivered) per seeded message.
  if (kind === "status") seedOutbound(name, server.databasePath, { sidBase, count: Math.ceil(count / 2), senders: SENDERS })
  const cpuBefore = cpuSeconds(server.child.pid)
  const result = await runLoad(dir, {
    host: "127.0.0.1",
    port: server.port,
    path: kind === "status" ? STATUS_PATH : SMS_PATH,
    kind,
    connections,
    ...timing,
    count,
    sidBase,
    senders: SENDERS,
    to: OUR_NUMBER,
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    baseUrl: BASE_URL
  })
  const answered = Object.values(result.statusCounts).reduce((n, k) => n + k, 0)
  return { ...result, cpuMicros: ((cpuSeconds(server.child.pid) - cpuBefore) * 1e6) / Math.max(1, answered) }
}

/** Medians over rounds per target, and per-round ratios of this server to the peer and the ceiling. */
const recordResults = (kind, results, record) => {
  for (const connections of CONNECTIONS) {
    const key = (suffix) => `${kind}.${connections}.${suffix}`
    const byName = results[connections]
    const rps = (name) => byName[name].map((r) => r.rps)
    for (const name of NAMES) {
      record(key(`${name}.rps`), median(rps(name)))
      record(key(`${name}.p99`), median(byName[name].map((r) => r.p99)))
      record(key(`${name}.cpu`), median(byName[name].map((r) => r.cpuMicros)))
      record(key(`${name}.failed`), byName[name].reduce((n, r) => n + r.non2xx + r.errors, 0))
    }
    record(key("ratio.peer"), medianRatio(rps("ours"), rps("peer")))
    record(key("ratio.ceiling"), medianRatio(rps("ours"), rps("ceiling")))
  }
}

/** The `ingest` or `status` figure: rounds of runs, targets rotated each round, 10 and 50 connections. */
const webhookFigure = (kind) => async ({ quick, record }) => {
  const dir = tempDir(kind)
  const servers = {}
  try {
    for (const name of NAMES) servers[name] = await webhookServers[name].start(dir)
    const rounds = quick ? 1 : 3
    const timing = { warmupMs: quick ? 200 : 1000, durationMs: quick ? 1000 : 10_000 }
    const results = Object.fromEntries(CONNECTIONS.map((c) => [c, { ours: [], peer: [], ceiling: [] }]))
    const pool = {}
    // Every run gets SIDs of its own: a 2^36 offset per kind keeps ingest and status apart.
    let sidBase = (kind === "status" ? 2 : 1) * 2 ** 36
    for (let round = 0; round < rounds; round++) {
      for (const connections of CONNECTIONS) {
        for (const name of rotate(NAMES, round)) {
          const count = pool[name] ?? FIRST_POOL[quick ? "quick" : "full"]
          const result = await runOnce({ dir, kind, name, server: servers[name], connections, timing, count, sidBase })
          sidBase += count
          // Enough for three times the rate just seen: a target's rate varies by 2x between runs here.
          pool[name] = Math.ceil(result.rps * ((timing.warmupMs + timing.durationMs) / 1000) * 3) + 5000
          results[connections][name].push(result)
          log(`${kind} c=${connections} ${name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99.toFixed(1)} ms, ` +
            `${result.cpuMicros.toFixed(0)} µs CPU/request, non-2xx ${result.non2xx}, errors ${result.errors}` +
            (result.exhausted ? " (request pool used up)" : ""))
        }
      }
    }
    recordResults(kind, results, record)
    for (const name of NAMES) record(`rss.webhooks.${kind}.${name}`, rssMb(servers[name].child.pid))
    record(`${kind}.seconds`, timing.durationMs / 1000)
  } finally {
    for (const server of Object.values(servers)) await stop(server.child)
  }
}

export const ingest = webhookFigure("ingest")
export const status = webhookFigure("status")
