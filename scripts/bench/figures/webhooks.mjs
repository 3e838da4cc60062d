// Webhook ingest and status callbacks: signed requests with unique MessageSids, N keep-alive connections
// for a fixed time, against this server's `webhooks` process, the peer's Express server and the raw
// ceiling, interleaved round by round. Each target has its own database.
import { join } from "node:path"
import { output, rssMb, stop } from "../lib/procs.mjs"
import { seedOutbound } from "../lib/seed.mjs"
import { median, medianRatio, rotate } from "../lib/stats.mjs"
import { ACCOUNT_SID, AUTH_TOKEN, BASE_URL, log, OUR_NUMBER, REPO, SMS_PATH, STATUS_PATH, tempDir, webhookServers } from "../lib/targets.mjs"

const NAMES = ["ours", "peer", "ceiling"]
export const CONNECTIONS = [10, 50]
const SENDERS = 1000
/** Requests precomputed for a target's first run; later runs size the pool from its measured rate. */
const FIRST_POOL = 120_000

const runLoad = async (dir, options) =>
  JSON.parse(
    await output(process.execPath, [join(REPO, "scripts", "bench", "loadgen.mjs"), JSON.stringify(options)], {
      timeoutMs: options.warmupMs + options.durationMs + 120_000,
      log: join(dir, "loadgen.log")
    })
  )

/** The `ingest` or `status` figure. Records req/s, p99, non-2xx per target and connection count. */
const webhookFigure = (kind) => async ({ quick, record }) => {
  const dir = tempDir(kind)
  const servers = {}
  try {
    for (const name of NAMES) servers[name] = await webhookServers[name].start(dir)
    const rounds = quick ? 1 : 3
    const timing = { warmupMs: quick ? 300 : 1000, durationMs: quick ? 2000 : 10_000 }
    const results = Object.fromEntries(CONNECTIONS.map((c) => [c, { ours: [], peer: [], ceiling: [] }]))
    const pool = {}
    // Every run gets SIDs of its own: a 2^36 offset per kind keeps ingest and status apart.
    let sidBase = (kind === "status" ? 2 : 1) * 2 ** 36

    for (let round = 0; round < rounds; round++) {
      for (const connections of CONNECTIONS) {
        for (const name of rotate(NAMES, round)) {
          const count = pool[name] ?? FIRST_POOL
          // A status callback refers to a stored message: two callbacks (sent, delivered) per seeded one.
          if (kind === "status") seedOutbound(name, servers[name].databasePath, { sidBase, count: Math.ceil(count / 2), senders: SENDERS })
          const result = await runLoad(dir, {
            host: "127.0.0.1",
            port: servers[name].port,
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
          sidBase += count
          pool[name] = Math.ceil(result.rps * ((timing.warmupMs + timing.durationMs) / 1000) * 1.5) + 2000
          results[connections][name].push(result)
          log(`${kind} c=${connections} ${name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99.toFixed(1)} ms, ` +
            `non-2xx ${result.non2xx}, errors ${result.errors}${result.exhausted ? " (request pool used up)" : ""}`)
        }
      }
    }

    for (const connections of CONNECTIONS) {
      const byName = results[connections]
      const rps = (name) => byName[name].map((r) => r.rps)
      for (const name of NAMES) {
        record(`${kind}.${connections}.${name}.rps`, median(rps(name)))
        record(`${kind}.${connections}.${name}.p99`, median(byName[name].map((r) => r.p99)))
        record(`${kind}.${connections}.${name}.failed`, byName[name].reduce((n, r) => n + r.non2xx + r.errors, 0))
      }
      record(`${kind}.${connections}.ratio.peer`, medianRatio(rps("ours"), rps("peer")))
      record(`${kind}.${connections}.ratio.ceiling`, medianRatio(rps("ours"), rps("ceiling")))
    }
    for (const name of NAMES) record(`rss.webhooks.${kind}.${name}`, rssMb(servers[name].child.pid))
    record(`${kind}.seconds`, timing.durationMs / 1000)
  } finally {
    for (const server of Object.values(servers)) await stop(server.child)
  }
}

export const ingest = webhookFigure("ingest")
export const status = webhookFigure("status")
