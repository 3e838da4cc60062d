// Query latency on a large store: 1,000,000 messages over 10,000 conversations (a tenth of that with
// --quick), through the tool handlers in process and through a stdio round trip.
import Database from "better-sqlite3"
import { build } from "esbuild"
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, readSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, output, stop } from "../lib/procs.mjs"
import { contactOf, conversationIdOf, prng, seedStore } from "../lib/seed.mjs"
import { percentile } from "../lib/stats.mjs"
import { ms, row } from "../lib/table.mjs"
import { log, mcpServers, oursEnv, REPO, tempDir, webhookServers } from "../lib/targets.mjs"

const DAY_MS = 86_400_000
/** Bump when the seeded data changes shape (2: page size from the fresh database; 3: migration 0004 changed): a cached store with another version is rebuilt. */
const SEED_VERSION = 3

export const QUERIES = [
  { label: "get_inbound_messages by sender", tool: "get_inbound_messages" },
  { label: "get_inbound_messages by since", tool: "get_inbound_messages" },
  { label: "get_conversation_thread newest page", tool: "get_conversation_thread" },
  { label: "list_conversations", tool: "list_conversations" },
  { label: "search_messages specific", tool: "search_messages" },
  { label: "search_messages broad", tool: "search_messages" }
]

/**
 * Arguments for each query, drawn from the seeded data: a random contact, `since` within the last week,
 * a random thread; searches for something specific (an order number, or a first name with an order
 * number) and, separately, one topic word that ~10% of all messages contain.
 */
const argumentsFor = (store) => {
  const random = prng(7)
  const any = (n) => Math.floor(random() * n)
  const order = () => String(10_000 + any(90_000))
  return {
    "get_inbound_messages by sender": () => ({ from: contactOf(any(store.conversations)) }),
    "get_inbound_messages by since": () => ({ since: new Date(store.endMs - random() * 7 * DAY_MS).toISOString() }),
    "get_conversation_thread newest page": () => ({ conversationId: conversationIdOf(any(store.conversations)) }),
    "list_conversations": () => ({}),
    "search_messages specific": () => ({ query: random() < 0.5 ? order() : `Priya ${order()}` }),
    "search_messages broad": () => ({ query: ["refund", "delivery", "invoice", "payment"][any(4)] })
  }
}

/** The calls in the order they are made: kinds interleaved, so noise spreads over all of them. */
export const callPlan = (store, perQuery) => {
  const args = argumentsFor(store)
  const calls = []
  for (let i = 0; i < perQuery; i++) for (const q of QUERIES) calls.push({ label: q.label, tool: q.tool, args: args[q.label]() })
  return calls
}

/** Migration names of a fresh database made by this server: part of the cache key of the seeded store. */
const schemaOf = async (dir) => {
  const server = await webhookServers.ours.start(dir)
  await stop(server.child)
  const db = new Database(server.databasePath, { readonly: true })
  const names = db.prepare("SELECT name FROM effect_sql_migrations ORDER BY migration_id").all().map((r) => r.name)
  db.close()
  return { databasePath: server.databasePath, names }
}

/** The seeded store, from the cache when it was seeded with the same migrations and seed version. */
export const seededStore = async (dir, { messages, conversations }) => {
  const fresh = await schemaOf(dir)
  const path = join(tmpdir(), `twilio-mcp-bench-store-${messages}.db`)
  const stampPath = `${path}.json`
  const key = JSON.stringify({ SEED_VERSION, messages, conversations, migrations: fresh.names })
  if (existsSync(stampPath) && existsSync(path)) {
    const stamp = JSON.parse(readFileSync(stampPath, "utf8"))
    if (stamp.key === key) return { path, ...stamp.store }
  }
  log(`seeding ${messages.toLocaleString("en")} messages over ${conversations.toLocaleString("en")} conversations…`)
  const startedAt = performance.now()
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true })
  copyFileSync(fresh.databasePath, path)
  const store = { messages, conversations, ...seedStore(path, { messages, conversations, endMs: Date.now() }) }
  writeFileSync(stampPath, JSON.stringify({ key, store }))
  log(`seeded in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`)
  return { path, ...store }
}

/** Compiles the in-process entry (the app layer, the tool bridge, the tools) from src/ with esbuild. */
const bundleInProcess = async (dir) => {
  const outfile = join(dir, "inprocess.mjs")
  await build({
    stdin: {
      contents: [
        "export { appLayer } from './src/App.js'",
        "export { callTool } from './src/mcp/Bridge.js'",
        "export { tools } from './src/mcp/tools/index.js'",
        "export { parseConfig } from './src/config/LoadConfig.js'",
        "export { loggingLayer } from './src/config/Logging.js'",
        "export * as Either from 'effect/Either'",
        "export * as Layer from 'effect/Layer'",
        "export * as ManagedRuntime from 'effect/ManagedRuntime'"
      ].join("\n"),
      resolveDir: REPO,
      loader: "ts",
      sourcefile: "bench-inprocess.ts"
    },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["better-sqlite3", "twilio", "twilio/*"],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: "warning"
  })
  // The bundle's external packages resolve from the project's node_modules.
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"))
  return outfile
}

/**
 * Reads the store file once, so both paths run on a warm page cache: a cached store was last read minutes
 * or runs ago, and the first path timed would otherwise also time the disk.
 */
export const warmPageCache = (path) => {
  const fd = openSync(path, "r")
  const buffer = Buffer.allocUnsafe(1 << 20)
  try {
    while (readSync(fd, buffer, 0, buffer.length, null) > 0);
  } finally {
    closeSync(fd)
  }
}

const summarize = (timings, record, path) => {
  for (const { label } of QUERIES) {
    record(`query.${path}.${label}.p50`, percentile(timings[label], 50))
    record(`query.${path}.${label}.p99`, percentile(timings[label], 99))
  }
}

const query = async ({ quick, record }) => {
  const dir = tempDir("query")
  const size = quick ? { messages: 100_000, conversations: 1_000 } : { messages: 1_000_000, conversations: 10_000 }
  const store = await seededStore(dir, size)
  const perQuery = quick ? 40 : 300
  const calls = callPlan(store, perQuery)
  const env = await oursEnv(store.path, await freePort())
  warmPageCache(store.path)
  record("query.messages", store.messages)
  record("query.perQuery", perQuery)

  log(`query: ${calls.length} calls in process…`)
  const planPath = join(dir, "plan.json")
  writeFileSync(planPath, JSON.stringify({ env, cwd: dir, calls, warmup: QUERIES.length * 5 }))
  const bundle = await bundleInProcess(dir)
  const inProcess = await output(process.execPath, [join(REPO, "scripts", "bench", "query-inprocess.mjs"), bundle, planPath], {
    timeoutMs: 10 * 60_000,
    log: join(dir, "inprocess.log")
  })
  summarize(JSON.parse(inProcess), record, "inprocess")

  log(`query: ${calls.length} calls over stdio…`)
  const server = await mcpServers.ours.spawn(dir, { databasePath: store.path })
  try {
    summarize(await timedCalls(server, calls), record, "stdio")
  } finally {
    await server.close()
  }
}

/** Round-trip times of `calls` over stdio by label (ms), after five calls per query to warm up. */
export const timedCalls = async (server, calls) => {
  await server.initialized
  for (const call of calls.slice(0, QUERIES.length * 5)) await server.callTool(call.tool, call.args)
  const timings = {}
  for (const call of calls) {
    const startedAt = performance.now()
    await server.callTool(call.tool, call.args)
    ;(timings[call.label] ??= []).push(performance.now() - startedAt)
  }
  return timings
}

export const figures = { query }

export const rows = () =>
  QUERIES.flatMap(({ label }) => [
    ["inprocess", "in process", 5],
    ["stdio", "stdio round trip", 15]
  ].map(([path, how, limit]) => {
    const key = (p) => `query.${path}.${label}.${p}`
    return row(`query: ${label}`, `${how}: p99 (p50 in brackets)`, {
      value: key("p99"),
      fmt: ms,
      note: (r) => `p50 ${ms(r(key("p50")))}`,
      target: `p99 ≤ ${limit} ms`,
      pass: (r) => r(key("p99")) <= limit
    })
  }))
