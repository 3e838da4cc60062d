// What the reliability scripts (crash.mjs, concurrent.mjs) share: the build, server processes that are
// always killed when the script ends, signed webhook posts, a bounded worker pool, the database a run uses
// (a SQLite file, or with --postgres a database on an embedded PostgreSQL) and its checks.
// Everything listens on and talks to 127.0.0.1 only.
import Database from "better-sqlite3"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, rmSync } from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import twilio from "twilio"
import { startPostgres } from "../lib/postgres.mjs"

export const ROOT = fileURLToPath(new URL("../..", import.meta.url))
export const ENTRY = join(ROOT, "dist", "index.js")
export const HOST = "127.0.0.1"
export const FORM = "application/x-www-form-urlencoded"
export const SMS_PATH = "/webhooks/twilio/sms"
export const STATUS_PATH = "/webhooks/twilio/status"

/** `[count] [--quick] [--postgres]`: the positional number (or the default for the mode), the mode, the database. */
export const parseArgs = (argv, { normal, quick }) => {
  const isQuick = argv.includes("--quick")
  const number = argv.find((a) => /^\d+$/.test(a))
  return { quick: isQuick, postgres: argv.includes("--postgres"), count: number === undefined ? (isQuick ? quick : normal) : Number(number) }
}

/** Builds dist/index.js from the current sources (scripts/build.mjs works relative to the project root). */
export const build = async () => {
  process.chdir(ROOT)
  await import("../build.mjs")
}

const temps = new Set()
const children = new Set()
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL")
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

/** A temp directory, removed when the script exits. */
export const tempDir = (label) => {
  const dir = mkdtempSync(join(tmpdir(), `twilio-mcp-${label}-`))
  temps.add(dir)
  return dir
}

/** A port the OS just handed out on 127.0.0.1 and that nothing holds any more. */
export const freePort = async () => {
  const probe = net.createServer().listen(0, HOST)
  await once(probe, "listening")
  const { port } = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/**
 * `node dist/index.js …args` with exactly `env` (plus PATH and HOME), in `cwd` (so no stray .env is read).
 * stderr is kept; `waitFor` resolves with the first stderr line matching, or rejects at the deadline or exit.
 */
export const startServer = (args, env, cwd) => {
  const child = spawn(process.execPath, [ENTRY, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: "pipe" })
  children.add(child)
  const exited = once(child, "exit").then(([code, signal]) => {
    children.delete(child)
    return { code, signal }
  })
  let stderr = ""
  child.stderr.setEncoding("utf8")
  child.stderr.on("data", (chunk) => (stderr += chunk))
  const waitFor = (pattern, timeoutMs = 20_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no stderr line matching ${pattern} within ${timeoutMs} ms:\n${stderr}`)), timeoutMs)
      const check = () => {
        const line = stderr.split("\n").find((l) => pattern.test(l))
        if (line !== undefined) finish(undefined, line)
      }
      const onExit = () => finish(new Error(`exited before a stderr line matching ${pattern}:\n${stderr}`))
      const finish = (error, line) => {
        clearTimeout(timer)
        child.stderr.off("data", check)
        child.off("exit", onExit)
        error === undefined ? resolve(line) : reject(error)
      }
      child.stderr.on("data", check)
      child.once("exit", onExit)
      check()
    })
  return { child, exited, waitFor, stderr: () => stderr }
}

/** Resolves with the exit once it happens, or rejects after `timeoutMs`. */
export const exitWithin = (server, timeoutMs) =>
  Promise.race([
    server.exited,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms`)), timeoutMs).unref())
  ])

/**
 * Signed webhook posts to 127.0.0.1:`port`, signed for `baseUrl` as Twilio would (the URL Twilio calls).
 * Resolves with `{ status }` as soon as the status line arrives (a 2xx is the server's acknowledgement:
 * it answers only after committing), or `{ error }` with the socket error code.
 */
export const webhookPoster = ({ port, baseUrl, token, sockets }) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets })
  const post = (path, params) =>
    new Promise((resolve) => {
      const body = new URLSearchParams(params).toString()
      const headers = {
        "content-type": FORM,
        "content-length": Buffer.byteLength(body),
        "x-twilio-signature": twilio.getExpectedTwilioSignature(token, baseUrl + path, params)
      }
      const req = http.request({ host: HOST, port, path, method: "POST", agent, headers }, (res) => {
        resolve({ status: res.statusCode })
        res.resume()
        res.on("error", () => undefined)
      })
      req.once("error", (error) => resolve({ error: error.code ?? error.message }))
      req.end(body)
    })
  return { post, close: () => agent.destroy() }
}

/** Runs `task` on every item with at most `concurrency` at once, stopping early once `stop()` holds. */
export const pool = async (items, concurrency, task, stop = () => false) => {
  let next = 0
  const worker = async () => {
    while (next < items.length && !stop()) await task(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

/** A Twilio-shaped SID: the prefix, then `n` as 32 hex digits (`tag` 0-255 sets the leading byte). */
export const sid = (prefix, tag, n) => prefix + tag.toString(16).padStart(2, "0") + n.toString(16).padStart(30, "0")

/** An integer in [min, max). */
export const randomInt = (min, max) => min + Math.floor(Math.random() * (max - min))

export const shuffle = (items) => {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1)
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

/** A run's database as the checks read it: `rows` with `?` placeholders, and each kind's integrity check. */
const sqliteStore = (path) => {
  const db = new Database(path, { timeout: 10_000 })
  return {
    rows: async (sql, ...params) => db.prepare(sql).all(...params),
    /** SQLite's own checks: the b-trees, and the full-text index against the messages. */
    integrity: async () => {
      const result = db.pragma("integrity_check", { simple: true })
      db.exec("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
      return result
    },
    close: async () => db.close()
  }
}

const postgresStore = async (url) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const rows = async (sql, ...params) => {
    let n = 0
    return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows
  }
  return {
    rows,
    /**
     * What PostgreSQL keeps beside the rows, against the rows: every threaded inbound message's sender listed
     * with its thread (inbound_senders, kept by a trigger), every search vector current.
     */
    integrity: async () => {
      const [check] = await rows(`
        SELECT (SELECT COUNT(*)::int FROM messages m WHERE m.direction = 'inbound' AND m.conversation_id IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM inbound_senders s WHERE s.from_address = m.from_address AND s.conversation_id = m.conversation_id)) AS senders,
               (SELECT COUNT(*)::int FROM messages WHERE body_search IS DISTINCT FROM to_tsvector('simple', messages_search_text(body))) AS search`)
      return check.senders === 0 && check.search === 0 ? "ok" : `${check.senders} senders unlisted, ${check.search} stale search vectors`
    },
    close: () => client.end()
  }
}

let postgres

/**
 * A fresh database for a run: a SQLite file in `dir`, or with `postgres` a new database on the script's
 * PostgreSQL (started on first use; durable, PostgreSQL's default settings). `env` points a server at it;
 * `open` gives a store for the checks; `server` is the PostgreSQL, to restart it.
 */
export const freshDatabase = async (dir, usePostgres) => {
  if (!usePostgres) {
    const path = join(dir, "twilio.db")
    return { env: { DATABASE_PATH: path }, open: async () => sqliteStore(path), describe: path }
  }
  postgres ??= await startPostgres({ durable: true })
  const name = `run_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`
  await postgres.query(`CREATE DATABASE ${name}`)
  const url = postgres.database(name)
  return { env: { DATABASE_URL: url }, open: () => postgresStore(url), server: postgres, describe: `PostgreSQL database ${name}` }
}

/** Stops the script's PostgreSQL, if it started one. */
export const stopPostgres = async () => {
  await postgres?.stop()
  postgres = undefined
}

/** Opens the run's database for checks; closed when `use` is done. */
export const withStore = async (database, use) => {
  const store = await database.open()
  try {
    return await use(store)
  } finally {
    await store.close()
  }
}

/** Rows of `table` whose `columns` repeat: must be none. */
export const duplicates = async (store, table, columns) =>
  Number((await store.rows(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${table} GROUP BY ${columns} HAVING COUNT(*) > 1) AS d`))[0].n)

export const count = async (store, table) => Number((await store.rows(`SELECT COUNT(*) AS n FROM ${table}`))[0].n)
