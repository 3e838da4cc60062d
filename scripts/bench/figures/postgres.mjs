// PostgreSQL (issue 13), on an embedded PostgreSQL with its default (durable) settings, everything on this
// machine and on 127.0.0.1:
//   - signed inbound webhooks through 1 and 2 `webhooks` replicas of one database (50 connections in all,
//     split between the replicas as a load balancer would), with the CPU each process spends per webhook;
//   - the query figure's store (1,000,000 messages, 100,000 with --quick: the same cached SQLite store), copied
//     in by `migrate-to-postgres` and queried over stdio by an MCP process on DATABASE_URL, with the query
//     figure's plan and, as there, its files read into the page cache first;
//   - the idle cost of a wait_for_reply that listens for other processes' messages (LISTEN, heartbeat).
// One `webhooks` process on SQLite takes the same load in the same run, for comparison. The PostgreSQL store is
// kept in the temp folder (twilio-mcp-bench-pg-<messages>) and copied again when the SQLite store or
// PostgreSQL's migrations change.
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { setTimeout as sleep } from "node:timers/promises"
import { startPostgres } from "../../lib/postgres.mjs"
import { McpProcess } from "../lib/mcp-client.mjs"
import { cpuSeconds, freePort, HOST, output, start, stop, waitUntil } from "../lib/procs.mjs"
import { median, percentile } from "../lib/stats.mjs"
import { micros, ms, percent, row, rps } from "../lib/table.mjs"
import { ACCOUNT_SID, AUTH_TOKEN, BASE_URL, log, OUR_NUMBER, OURS_ENTRY, oursEnv, REPO, SETTLE_MS, SMS_PATH, tempDir, webhookServers } from "../lib/targets.mjs"
import { callPlan, QUERIES, seededStore as seededSqliteStore, timedCalls, warmPageCache } from "./query.mjs"

const COPY_VERSION = 1
const CONNECTIONS = 50
const SENDERS = 1000

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

/**
 * The query figure's store in PostgreSQL: the cached copy when it was made from the same SQLite store with the
 * same migrations, else copied in by `migrate-to-postgres` (timed), then vacuumed as autovacuum would in time.
 */
const postgresStore = async ({ quick, dir }) => {
  const size = quick ? { messages: 100_000, conversations: 1_000 } : { messages: 1_000_000, conversations: 10_000 }
  const sqlite = await seededSqliteStore(dir, size)
  const folder = join(tmpdir(), `twilio-mcp-bench-pg-${size.messages}`)
  const stampPath = join(folder, "stamp.json")
  const migrationsFolder = join(REPO, "src", "storage", "migrations", "postgres")
  const migrations = createHash("sha256")
    .update(readdirSync(migrationsFolder).sort().map((f) => readFileSync(join(migrationsFolder, f), "utf8")).join("\0"))
    .digest("hex")
  const key = JSON.stringify({ COPY_VERSION, sqlite: readFileSync(`${sqlite.path}.json`, "utf8"), migrations })
  const cached = existsSync(stampPath) ? JSON.parse(readFileSync(stampPath, "utf8")) : undefined
  if (cached?.key !== key) rmSync(folder, { recursive: true, force: true })
  const pg = await startPostgres({ durable: true, dir: folder })
  if (cached?.key === key) return { pg, store: sqlite, folder, migrateSeconds: cached.migrateSeconds }

  log(`postgres: copying the ${size.messages.toLocaleString("en")}-message store in with migrate-to-postgres…`)
  await pg.query("CREATE DATABASE bench_store")
  const startedAt = performance.now()
  const copied = await output(process.execPath, [OURS_ENTRY, "migrate-to-postgres"], {
    timeoutMs: 60 * 60_000,
    log: join(dir, "migrate.log"),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...(await postgresEnv(pg.database("bench_store"), await freePort())), DATABASE_PATH: sqlite.path }
  })
  const migrateSeconds = (performance.now() - startedAt) / 1000
  log(`postgres: migrate-to-postgres took ${migrateSeconds.toFixed(0)} s:\n${copied.trim()}`)
  // As autovacuum would in time: the visibility map set, so counts are answered from indexes alone.
  await pg.query("VACUUM", "bench_store")
  writeFileSync(stampPath, JSON.stringify({ key, migrateSeconds }))
  return { pg, store: sqlite, folder, migrateSeconds }
}

/**
 * Reads the store database's files (tables and indexes) once, as the query figure reads its SQLite file: right
 * before the timed calls, since the ingest rounds ran in between and this machine pages out file cache left
 * untouched for about a minute. Cold, each call's ~50 scattered heap pages are disk reads (~0.2 ms each).
 */
const warmStore = async (pg, folder) => {
  const [{ oid }] = (await pg.query("SELECT oid FROM pg_database WHERE datname = 'bench_store'")).rows
  const files = join(folder, "data", "base", String(oid))
  for (const file of readdirSync(files)) warmPageCache(join(files, file))
}

const queries = async ({ pg, store, folder, dir, quick, record }) => {
  const perQuery = quick ? 40 : 300
  const calls = callPlan(store, perQuery)
  await warmStore(pg, folder)
  const server = McpProcess.spawn(process.execPath, [OURS_ENTRY], {
    cwd: dir,
    env: await postgresEnv(pg.database("bench_store"), await freePort()),
    log: join(dir, "query-mcp.log")
  })
  try {
    const timings = await timedCalls(server, calls)
    for (const { label } of QUERIES) {
      record(`postgres.query.${label}.p50`, percentile(timings[label], 50))
      record(`postgres.query.${label}.p99`, percentile(timings[label], 99))
    }
  } finally {
    await server.close()
  }
}

/**
 * One wait_for_reply that times out, with progress notifications: the CPU of the MCP process on PostgreSQL
 * (and of PostgreSQL meanwhile), then of one on a SQLite file the same way, for comparison.
 */
const idle = async ({ pg, dir, quick, record }) => {
  const timeoutSeconds = quick ? 5 : 45
  await pg.query("CREATE DATABASE idle")
  const waitOn = async (env, name) => {
    const server = McpProcess.spawn(process.execPath, [OURS_ENTRY], { cwd: dir, env, log: join(dir, `${name}.log`) })
    try {
      await server.initialized
      await server.callTool("list_conversations", {})
      await sleep(SETTLE_MS)
      const before = { server: cpuSeconds(server.pid), pg: postgresCpuSeconds(pg.pid()) }
      const startedAt = performance.now()
      await server.callTool("wait_for_reply", { from: "+15551230001", timeoutSeconds }, { timeoutMs: (timeoutSeconds + 15) * 1000, progressToken: "bench" })
      const seconds = (performance.now() - startedAt) / 1000
      return { server: ((cpuSeconds(server.pid) - before.server) / seconds) * 100, pg: ((postgresCpuSeconds(pg.pid()) - before.pg) / seconds) * 100 }
    } finally {
      await server.close()
    }
  }
  try {
    const onPostgres = await waitOn(await postgresEnv(pg.database("idle"), await freePort()), "idle-postgres")
    record("postgres.idle.serverPercent", onPostgres.server)
    record("postgres.idle.postgresPercent", onPostgres.pg)
    record("postgres.idle.sqlitePercent", (await waitOn(await oursEnv(join(dir, "idle.db"), await freePort()), "idle-sqlite")).server)
  } finally {
    await pg.query("DROP DATABASE IF EXISTS idle WITH (FORCE)")
  }
}

const postgres = async ({ quick, record }) => {
  const dir = tempDir("postgres")
  const { pg, store, folder, migrateSeconds } = await postgresStore({ quick, dir })
  try {
    record("postgres.query.messages", store.messages)
    record("postgres.migrateSeconds", migrateSeconds)
    await ingest({ pg, dir, quick, record })
    await queries({ pg, store, folder, dir, quick, record })
    await idle({ pg, dir, quick, record })
  } finally {
    await pg.stop()
  }
}

export const figures = { postgres }

const ingestRows = (replicas, figure) => {
  const key = (k) => `postgres.ingest.${replicas}.${k}`
  return [
    row(figure, "req/s, median of rounds (vs one SQLite process, same run)", { value: key("rps"), fmt: rps, other: "postgres.ingest.0.rps" }),
    row(figure, "p99 latency (the slower replica's)", {
      value: key("p99"),
      fmt: ms,
      other: "postgres.ingest.0.p99",
      ...(replicas === 1 ? { target: "≤ 50 ms", pass: (r) => r(key("p99")) <= 50 } : {})
    }),
    row(figure, "CPU per webhook: each replica (vs the SQLite process)", { value: key("replicaCpu"), fmt: micros, other: "postgres.ingest.0.replicaCpu" }),
    row(figure, "CPU per webhook: PostgreSQL, all its processes", { value: key("postgresCpu"), fmt: micros }),
    row(figure, "non-2xx + connection errors, all rounds", { value: key("failed"), fmt: String, target: "0", pass: (r) => r(key("failed")) === 0 })
  ]
}

export const rows = () => [
  ...ingestRows(1, "PostgreSQL ingest, 1 replica, c=50"),
  ...ingestRows(2, "PostgreSQL ingest, 2 replicas, c=25+25"),
  ...QUERIES.map(({ label }) =>
    row("PostgreSQL queries over stdio", `${label}: p99 (p50)`, {
      value: `postgres.query.${label}.p99`,
      fmt: ms,
      note: (r) => ms(r(`postgres.query.${label}.p50`)),
      target: "≤ 15 ms",
      pass: (r) => r(`postgres.query.${label}.p99`) <= 15
    })),
  row("PostgreSQL idle waiting", "CPU during wait_for_reply: the MCP process + PostgreSQL (vs the same wait on SQLite)", {
    value: "postgres.idle.serverPercent",
    fmt: percent,
    note: (r) => `+ ${percent(r("postgres.idle.postgresPercent"))}`,
    other: "postgres.idle.sqlitePercent",
    target: "< 1 % together",
    pass: (r) => r("postgres.idle.serverPercent") + r("postgres.idle.postgresPercent") < 1
  }),
  row("PostgreSQL store", "migrate-to-postgres of the query store (when not cached)", { value: "postgres.migrateSeconds", fmt: (v) => (v === undefined ? "cached" : `${v.toFixed(0)} s`) })
]
