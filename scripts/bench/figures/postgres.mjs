// PostgreSQL (issue 13), on an embedded PostgreSQL with its default (durable) settings, everything on this
// machine and on 127.0.0.1:
//   - signed inbound webhooks through 1 and 2 `webhooks` replicas of one database (50 connections in all,
//     split between the replicas as a load balancer would), with the CPU each process spends per webhook;
//   - the query figure's 1M-message store (100k with --quick), copied in by `migrate-to-postgres`, queried
//     over stdio by an MCP process on DATABASE_URL;
//   - the idle cost of a wait_for_reply that listens for other processes' messages (LISTEN, heartbeat).
// Its own table is printed when it ends; its numbers also go to --json. Seeded stores are kept under the
// temp folder (twilio-mcp-bench-pg-<messages>) and rebuilt when the seed or the migrations change.
import { createHash } from "node:crypto"
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { setTimeout as sleep } from "node:timers/promises"
import { startPostgres } from "../../lib/postgres.mjs"
import { McpProcess } from "../lib/mcp-client.mjs"
import { cpuSeconds, freePort, HOST, output, start, stop, waitUntil } from "../lib/procs.mjs"
import { contactOf, conversationIdOf, prng, seedStore } from "../lib/seed.mjs"
import { median, percentile } from "../lib/stats.mjs"
import { ACCOUNT_SID, AUTH_TOKEN, BASE_URL, log, OUR_NUMBER, OURS_ENTRY, oursEnv, REPO, SMS_PATH, tempDir, webhookServers } from "../lib/targets.mjs"

const SEED_VERSION = 1
const CONNECTIONS = 50
const SENDERS = 1000
const DAY_MS = 86_400_000

/** The query figure's queries and how their arguments are drawn from the seeded store (scripts/bench/figures/query.mjs). */
const QUERIES = {
  "get_inbound_messages by sender": ["get_inbound_messages", (s, any) => ({ from: contactOf(any(s.conversations)) })],
  "get_inbound_messages by since": ["get_inbound_messages", (s, _any, random) => ({ since: new Date(s.endMs - random() * 7 * DAY_MS).toISOString() })],
  "get_conversation_thread newest page": ["get_conversation_thread", (s, any) => ({ conversationId: conversationIdOf(any(s.conversations)) })],
  "list_conversations": ["list_conversations", () => ({})],
  "search_messages specific": ["search_messages", (_s, any, random) => ({ query: `${random() < 0.5 ? "" : "Priya "}${10_000 + any(90_000)}` })],
  "search_messages broad": ["search_messages", (_s, any) => ({ query: ["refund", "delivery", "invoice", "payment"][any(4)] })]
}

/** User + system CPU seconds of PostgreSQL: the postmaster and every process it started (backends, writers). */
const postgresCpuSeconds = (postmaster) => {
  let total = 0
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      if (Number(entry) === postmaster || Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / 100
    } catch {
      // Gone between the listing and the read.
    }
  }
  return total
}

/** This server's environment on `databaseUrl`, with webhooks on `port`. */
const postgresEnv = async (databaseUrl, port) => ({ ...(await oursEnv(join(tmpdir(), "unused.db"), port)), DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" })

/** A `webhooks` replica on `databaseUrl`, ready once /healthz answers. */
const startReplica = async (dir, databaseUrl, name) => {
  const port = await freePort()
  const child = start(process.execPath, [OURS_ENTRY, "webhooks"], {
    cwd: dir,
    env: await postgresEnv(databaseUrl, port),
    log: join(dir, `${name}.log`),
    stdin: "ignore",
    stdout: "ignore"
  })
  await waitUntil(`${name} on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${dir}/${name}.log`)
    return fetch(`http://${HOST}:${port}/healthz`).then((r) => r.ok, () => false)
  })
  return { port, child }
}

const loadgen = (dir, options) =>
  output(process.execPath, [join(REPO, "scripts", "bench", "loadgen.mjs"), JSON.stringify(options)], {
    timeoutMs: options.warmupMs + options.durationMs + 120_000,
    log: join(dir, "loadgen.log")
  }).then(JSON.parse)

/**
 * One ingest run: `replicas` fresh `webhooks` processes on a fresh database, 50 connections split evenly
 * between them, one load generator per replica at once. Throughput is the sum; p99 the worse replica's.
 * `replicas: 0` is the reference: one `webhooks` process on a SQLite file, under the same load.
 */
const ingestRun = async ({ pg, dir, replicas, timing, count, sidBase, run }) => {
  const name = `ingest_${run}`
  await pg.query(`CREATE DATABASE ${name}`)
  const servers = []
  try {
    if (replicas === 0) servers.push(await webhookServers.ours.start(mkdirSync(join(dir, name), { recursive: true })))
    for (let r = 0; r < replicas; r++) servers.push(await startReplica(dir, pg.database(name), `replica-${run}-${r}`))
    const cpuBefore = servers.map((s) => cpuSeconds(s.child.pid))
    const pgBefore = postgresCpuSeconds(pg.pid())
    const results = await Promise.all(servers.map((server, r) =>
      loadgen(dir, {
        host: HOST,
        port: server.port,
        path: SMS_PATH,
        kind: "ingest",
        connections: CONNECTIONS / servers.length,
        ...timing,
        count,
        sidBase: sidBase + r * count,
        senders: SENDERS,
        to: OUR_NUMBER,
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        baseUrl: BASE_URL
      })))
    const answered = results.reduce((n, r) => n + Object.values(r.statusCounts).reduce((a, b) => a + b, 0), 0)
    const perRequest = (seconds) => (seconds * 1e6) / Math.max(1, answered)
    return {
      rps: results.reduce((n, r) => n + r.rps, 0),
      p99: Math.max(...results.map((r) => r.p99)),
      failed: results.reduce((n, r) => n + r.non2xx + r.errors, 0),
      replicaCpu: servers.map((s, r) => perRequest(cpuSeconds(s.child.pid) - cpuBefore[r])),
      postgresCpu: perRequest(postgresCpuSeconds(pg.pid()) - pgBefore),
      exhausted: results.some((r) => r.exhausted)
    }
  } finally {
    for (const server of servers) await stop(server.child)
    await pg.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}

const ingest = async ({ pg, dir, quick, record }) => {
  const rounds = quick ? 1 : 3
  const timing = { warmupMs: quick ? 300 : 1000, durationMs: quick ? 2000 : 10_000 }
  const count = quick ? 20_000 : 60_000
  const results = { 0: [], 1: [], 2: [] }
  let sidBase = 3 * 2 ** 36
  let run = 0
  for (let round = 0; round < rounds; round++) {
    for (const replicas of [[1, 2, 0], [2, 0, 1], [0, 1, 2]][round % 3]) {
      const result = await ingestRun({ pg, dir, replicas, timing, count, sidBase, run: run++ })
      sidBase += 2 * count
      results[replicas].push(result)
      log(`${replicas === 0 ? "SQLite reference" : `postgres ingest, ${replicas} replica(s)`}, c=${CONNECTIONS}: ${result.rps.toFixed(0)} req/s, ` +
        `p99 ${result.p99.toFixed(1)} ms, CPU/request ${result.replicaCpu.map((c) => `${c.toFixed(0)} µs`).join(" + ")} (server processes)` +
        `${replicas === 0 ? "" : ` + ${result.postgresCpu.toFixed(0)} µs (PostgreSQL)`}, non-2xx + errors ${result.failed}${result.exhausted ? " (request pool used up)" : ""}`)
    }
  }
  for (const replicas of [0, 1, 2]) {
    const key = (k) => `postgres.ingest.${replicas}.${k}`
    const runs = results[replicas]
    record(key("rps"), median(runs.map((r) => r.rps)))
    record(key("p99"), median(runs.map((r) => r.p99)))
    record(key("replicaCpu"), median(runs.map((r) => r.replicaCpu.reduce((a, b) => a + b, 0) / r.replicaCpu.length)))
    record(key("postgresCpu"), median(runs.map((r) => r.postgresCpu)))
    record(key("failed"), runs.reduce((n, r) => n + r.failed, 0))
  }
}

/** The seeded store in PostgreSQL: from the cache when seed and migrations match, else seeded into SQLite and copied in. */
const seededStore = async ({ quick, dir }) => {
  const size = quick ? { messages: 100_000, conversations: 1_000 } : { messages: 1_000_000, conversations: 10_000 }
  const folder = join(tmpdir(), `twilio-mcp-bench-pg-${size.messages}`)
  const stampPath = join(folder, "stamp.json")
  const folderOfMigrations = join(REPO, "src", "storage", "migrations", "postgres")
  const migrations = createHash("sha256")
    .update(readdirSync(folderOfMigrations).sort().map((f) => readFileSync(join(folderOfMigrations, f), "utf8")).join("\0"))
    .digest("hex")
  const key = JSON.stringify({ SEED_VERSION, ...size, migrations })
  const cached = existsSync(stampPath) ? JSON.parse(readFileSync(stampPath, "utf8")) : undefined
  if (cached?.key !== key) rmSync(folder, { recursive: true, force: true })
  const pg = await startPostgres({ durable: true, dir: folder })
  if (cached?.key === key) return { pg, store: cached.store }

  log(`postgres: seeding ${size.messages.toLocaleString("en")} messages into SQLite, then migrate-to-postgres…`)
  const fresh = await webhookServers.ours.start(dir)
  await stop(fresh.child)
  const sqlite = join(dir, "store.db")
  copyFileSync(fresh.databasePath, sqlite)
  const seeded = seedStore(sqlite, { ...size, endMs: Date.now() })
  await pg.query("CREATE DATABASE bench_store")
  const startedAt = performance.now()
  const copied = await output(process.execPath, [OURS_ENTRY, "migrate-to-postgres"], {
    timeoutMs: 60 * 60_000,
    log: join(dir, "migrate.log"),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...(await postgresEnv(pg.database("bench_store"), await freePort())), DATABASE_PATH: sqlite }
  })
  const migrateSeconds = (performance.now() - startedAt) / 1000
  log(`postgres: migrate-to-postgres took ${migrateSeconds.toFixed(0)} s:\n${copied.trim()}`)
  // As autovacuum would in time: the visibility map set, so counts can be answered from indexes alone.
  await pg.query("VACUUM", "bench_store")
  const store = { ...size, ...seeded, migrateSeconds }
  writeFileSync(stampPath, JSON.stringify({ key, store }))
  return { pg, store }
}

const queries = async ({ pg, store, dir, quick, record }) => {
  const perQuery = quick ? 40 : 300
  const random = prng(7)
  const any = (n) => Math.floor(random() * n)
  const calls = []
  for (let i = 0; i < perQuery; i++) {
    for (const [label, [tool, args]] of Object.entries(QUERIES)) calls.push({ label, tool, args: args(store, any, random) })
  }
  const server = McpProcess.spawn(process.execPath, [OURS_ENTRY], {
    cwd: dir,
    env: await postgresEnv(pg.database("bench_store"), await freePort()),
    log: join(dir, "query-mcp.log")
  })
  try {
    await server.initialized
    for (const call of calls.slice(0, Object.keys(QUERIES).length * 5)) await server.callTool(call.tool, call.args)
    const timings = {}
    for (const call of calls) {
      const startedAt = performance.now()
      await server.callTool(call.tool, call.args)
      ;(timings[call.label] ??= []).push(performance.now() - startedAt)
    }
    for (const label of Object.keys(QUERIES)) {
      record(`postgres.query.${label}.p50`, percentile(timings[label], 50))
      record(`postgres.query.${label}.p99`, percentile(timings[label], 99))
    }
  } finally {
    await server.close()
  }
}

/** One wait_for_reply that times out, on PostgreSQL: CPU of the MCP process and of PostgreSQL over it. */
const idle = async ({ pg, dir, quick, record }) => {
  const timeoutSeconds = quick ? 5 : 45
  await pg.query("CREATE DATABASE idle")
  const server = McpProcess.spawn(process.execPath, [OURS_ENTRY], { cwd: dir, env: await postgresEnv(pg.database("idle"), await freePort()), log: join(dir, "idle.log") })
  try {
    await server.initialized
    await server.callTool("list_conversations", {})
    await sleep(1000)
    const before = { server: cpuSeconds(server.pid), pg: postgresCpuSeconds(pg.pid()) }
    const startedAt = performance.now()
    await server.callTool("wait_for_reply", { from: "+15551230001", timeoutSeconds }, { timeoutMs: (timeoutSeconds + 15) * 1000, progressToken: "bench" })
    const seconds = (performance.now() - startedAt) / 1000
    record("postgres.idle.serverPercent", ((cpuSeconds(server.pid) - before.server) / seconds) * 100)
    record("postgres.idle.postgresPercent", ((postgresCpuSeconds(pg.pid()) - before.pg) / seconds) * 100)
  } finally {
    await server.close()
    await pg.query("DROP DATABASE IF EXISTS idle WITH (FORCE)")
  }
}

const fmt = { ms: (v) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`, rps: (v) => `${Math.round(v).toLocaleString("en")} req/s`, us: (v) => `${Math.round(v)} µs`, pct: (v) => `${v.toFixed(2)} %` }

/** This figure's table: measured, target, met. */
const table = (results) => {
  const get = (k) => results.get(k)?.value
  const rows = [
    ["ingest, 1 replica, c=50", "req/s", fmt.rps(get("postgres.ingest.1.rps")), ""],
    ["ingest, 1 replica, c=50", "p99", fmt.ms(get("postgres.ingest.1.p99")), `≤ 50 ms: ${get("postgres.ingest.1.p99") <= 50 ? "met" : "MISSED"}`],
    ["ingest, 1 replica, c=50", "CPU per webhook: replica + PostgreSQL", `${fmt.us(get("postgres.ingest.1.replicaCpu"))} + ${fmt.us(get("postgres.ingest.1.postgresCpu"))}`, ""],
    ["ingest, SQLite reference (1 process), c=50", "req/s, p99, CPU per webhook", `${fmt.rps(get("postgres.ingest.0.rps"))}, ${fmt.ms(get("postgres.ingest.0.p99"))}, ${fmt.us(get("postgres.ingest.0.replicaCpu"))}`, ""],
    ["ingest, 2 replicas, c=25+25", "req/s", fmt.rps(get("postgres.ingest.2.rps")), ""],
    ["ingest, 2 replicas, c=25+25", "p99 (the worse replica)", fmt.ms(get("postgres.ingest.2.p99")), ""],
    ["ingest, 2 replicas, c=25+25", "CPU per webhook: each replica + PostgreSQL", `${fmt.us(get("postgres.ingest.2.replicaCpu"))} + ${fmt.us(get("postgres.ingest.2.postgresCpu"))}`, ""],
    ["ingest", "non-2xx + errors, all runs", String((get("postgres.ingest.1.failed") ?? 0) + (get("postgres.ingest.2.failed") ?? 0)), "0"],
    ...Object.keys(QUERIES).map((label) => [
      `${(get("postgres.query.messages") ?? 0).toLocaleString("en")}-message store over stdio`,
      `${label} p50 / p99`,
      `${fmt.ms(get(`postgres.query.${label}.p50`))} / ${fmt.ms(get(`postgres.query.${label}.p99`))}`,
      `p99 ≤ 15 ms: ${get(`postgres.query.${label}.p99`) <= 15 ? "met" : "MISSED"}`
    ]),
    ["wait_for_reply idle", "CPU of the MCP process / of PostgreSQL", `${fmt.pct(get("postgres.idle.serverPercent"))} / ${fmt.pct(get("postgres.idle.postgresPercent"))}`, `< 1 % of a core: ${get("postgres.idle.serverPercent") + get("postgres.idle.postgresPercent") < 1 ? "met" : "MISSED"}`],
    ["migrate-to-postgres", "seeding the store (when not cached)", get("postgres.migrateSeconds") === undefined ? "" : `${get("postgres.migrateSeconds").toFixed(0)} s`, ""]
  ]
  return ["| PostgreSQL figure | measure | this run | target |", "|---|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n")
}

export const postgres = async ({ quick, record }) => {
  const dir = tempDir("postgres")
  const results = new Map()
  const keep = (name, value, note) => {
    results.set(name, { value, note })
    record(name, value, note)
  }
  const { pg, store } = await seededStore({ quick, dir })
  try {
    keep("postgres.query.messages", store.messages)
    keep("postgres.migrateSeconds", store.migrateSeconds)
    await ingest({ pg, dir, quick, record: keep })
    await queries({ pg, store, dir, quick, record: keep })
    await idle({ pg, dir, quick, record: keep })
  } finally {
    await pg.stop()
  }
  process.stdout.write(`\n${table(results)}\n`)
}
