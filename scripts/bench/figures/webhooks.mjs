// Webhook ingest and status callbacks: signed requests with unique MessageSids, N keep-alive connections
// for a fixed time, against this server's `webhooks` process, the framework floor (@effect/platform, no
// work), the peer's Express server and the raw node:http ceiling, interleaved round by round, all loaded
// by the same generator. Each target that stores has its own database.
import { join } from "node:path"
import { cpuSeconds, output, rssMb, stop } from "../lib/procs.mjs"
import { seedOutbound } from "../lib/seed.mjs"
import { median, medianRatio, rotate } from "../lib/stats.mjs"
import { mb, micros, ms, row, rps } from "../lib/table.mjs"
import { ACCOUNT_SID, AUTH_TOKEN, BASE_URL, log, OUR_NUMBER, REPO, SMS_PATH, STATUS_PATH, tempDir, webhookServers } from "../lib/targets.mjs"

const NAMES = ["ours", "floor", "peer", "ceiling"]
const CONNECTIONS = [10, 50]
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
 * One timed run against one target (`server`: port, child, databasePath): seeds the messages status callbacks
 * refer to, loads the server, and adds its CPU time per answered request (steadier than req/s when other jobs
 * share the machine). Also used by profile.mjs.
 */
export const runOnce = async ({ dir, kind, name, server, connections, timing, count, sidBase }) => {
  // Two callbacks (sent, delivered) per seeded message; the floor has no database and stores nothing.
  if (kind === "status" && server.databasePath !== undefined) seedOutbound(name, server.databasePath, { sidBase, count: Math.ceil(count / 2), senders: SENDERS })
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

/** Medians over rounds per target, and per-round ratios of this server to each of the others. */
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
    for (const name of NAMES.filter((n) => n !== "ours")) record(key(`ratio.${name}`), medianRatio(rps("ours"), rps(name)))
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
    const results = Object.fromEntries(CONNECTIONS.map((c) => [c, Object.fromEntries(NAMES.map((n) => [n, []]))]))
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

export const figures = { ingest: webhookFigure("ingest"), status: webhookFigure("status") }

/** Targets from issue #11: against the framework floor and the peer; the raw ceiling is for information. */
const FLOOR_TARGET = 0.5
const PEER_TARGET = 6
const P99_TARGET_MS = 50

export const rows = () => [
  ...["ingest", "status"].flatMap((kind) =>
    CONNECTIONS.flatMap((c) => {
      const key = (k) => `${kind}.${c}.${k}`
      const figure = kind === "ingest" ? `webhook ingest c=${c}` : `status callbacks c=${c}`
      return [
        row(figure, "req/s, median of rounds (vs framework floor)", { value: key("ours.rps"), fmt: rps, other: key("floor.rps"), ratio: key("ratio.floor"), target: `≥ ${FLOOR_TARGET.toFixed(2)}× floor`, pass: (r) => r(key("ratio.floor")) >= FLOOR_TARGET }),
        row(figure, "req/s, median of rounds (vs peer)", { value: key("ours.rps"), fmt: rps, other: key("peer.rps"), ratio: key("ratio.peer"), target: `≥ ${PEER_TARGET}× peer`, pass: (r) => r(key("ratio.peer")) >= PEER_TARGET }),
        row(figure, "req/s, median of rounds (vs raw node:http ceiling, for information)", { value: key("ours.rps"), fmt: rps, other: key("ceiling.rps"), ratio: key("ratio.ceiling") }),
        row(figure, "server CPU per request, median (vs floor)", { value: key("ours.cpu"), fmt: micros, other: key("floor.cpu") }),
        // Steadier than the peer's req/s, which waits on its disk and swings with the machine's load.
        row(figure, "server CPU per request, median (vs peer)", { value: key("ours.cpu"), fmt: micros, other: key("peer.cpu") }),
        row(figure, "server CPU per request, median (vs ceiling)", { value: key("ours.cpu"), fmt: micros, other: key("ceiling.cpu") }),
        row(figure, "p99 latency, median of rounds (vs floor)", { value: key("ours.p99"), fmt: ms, other: key("floor.p99"), ...(c === 50 ? { target: `≤ ${P99_TARGET_MS} ms`, pass: (r) => r(key("ours.p99")) <= P99_TARGET_MS } : {}) }),
        row(figure, "non-2xx + connection errors, all rounds (peer)", { value: key("ours.failed"), fmt: String, other: key("peer.failed"), target: "0", pass: (r) => r(key("ours.failed")) === 0 })
      ]
    })
  ),
  ...["floor", "peer", "ceiling"].map((other) =>
    row("memory", `RSS of the webhook process after the ingest load (vs ${other})`, { value: "rss.webhooks.ingest.ours", fmt: mb, other: `rss.webhooks.ingest.${other}` })
  )
]
