import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqliteMigrator from "@effect/sql-sqlite-node/SqliteMigrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { SqliteDriverUnavailable, StorageError } from "../domain/Errors.js"
import { Engine, lockedTransactions } from "./Engine.js"
import { nextTurnOfEventLoop } from "./GroupCommit.js"
import { migrations } from "./migrations/index.js"
import { sqliteExclusive } from "./SqliteLease.js"
import { reasonOf } from "./SqlReason.js"

const pathAdvice = "Point DATABASE_PATH at a writable file; relative paths resolve against the project folder."

/**
 * A DATABASE_PATH that cannot be created or written fails start-up with a message that names it. Missing
 * folders are made one level at a time: `mkdirSync(…, { recursive: true })` loops forever under /proc.
 */
const ensureWritable = (filename: string) =>
  Effect.try({
    try: () => {
      if (filename === ":memory:") return
      const dir = path.dirname(filename)
      const missing: Array<string> = []
      let existing = dir
      while (!fs.existsSync(existing) && path.dirname(existing) !== existing) {
        missing.unshift(existing)
        existing = path.dirname(existing)
      }
      if (!fs.statSync(existing).isDirectory()) throw new Error(`${existing} is not a folder`)
      for (const folder of missing) fs.mkdirSync(folder)
      fs.accessSync(dir, fs.constants.W_OK)
      if (fs.existsSync(filename)) fs.accessSync(filename, fs.constants.R_OK | fs.constants.W_OK)
    },
    catch: (cause) =>
      new StorageError({
        operation: "open database",
        detail: `DATABASE_PATH ${filename} is not writable (${(cause as Error).message}). ${pathAdvice}`
      })
  })

/** better-sqlite3 is a native addon: built for one Node.js version and platform, it can fail to load. */
const isDriverLoadFailure = (error: unknown) => {
  const e = error as { code?: unknown; message?: unknown }
  const message = typeof e.message === "string" ? e.message : ""
  return e.code === "ERR_DLOPEN_FAILED" ||
    /NODE_MODULE_VERSION|Could not locate the bindings file|better_sqlite3\.node|invalid ELF header/.test(message) ||
    (e.code === "MODULE_NOT_FOUND" && message.includes("better-sqlite3"))
}

/**
 * The client. Opening throws (a defect) for a directory, a read-only mount, a file that is not a database,
 * or a driver that cannot load: each turned into an error that says which, not SQLite's bare "unable to
 * open database file". WAL is switched on below, after the page size, which only a new file takes.
 */
const client = (filename: string) =>
  SqliteClient.layer({ filename, disableWAL: true }).pipe(
    Layer.catchAllCause((cause) => {
      const error = Cause.squash(cause)
      const reason = error instanceof Error ? error.message : String(error)
      return Layer.fail(
        isDriverLoadFailure(error)
          ? new SqliteDriverUnavailable({ reason })
          : new StorageError({
            operation: "open database",
            detail: `DATABASE_PATH ${filename} cannot be opened as a SQLite database (${reason}). ${pathAdvice}`
          })
      )
    })
  )

/**
 * WAL, so that processes sharing the file (two MCP clients and a webhook server) read while one writes, and
 * a busy timeout long enough that writers queue for the lock instead of failing. The first statements: a
 * file that is not a database fails here.
 */
const settings = (filename: string) => Layer.effectDiscard(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // A webhook's index updates land on pages all over the file; each is written whole to the WAL and again by
  // the checkpoint, so smaller pages mean less I/O per message. A new file only: an existing one keeps its own.
  yield* sql`PRAGMA page_size = 2048`
  yield* sql`PRAGMA journal_mode = WAL`
  yield* sql`PRAGMA busy_timeout = 10000`
  yield* sql`PRAGMA foreign_keys = ON`
  yield* sql`PRAGMA synchronous = NORMAL`
  // The WAL file is cut back to 64 MB when it restarts.
  yield* sql`PRAGMA journal_size_limit = 67108864`
}).pipe(Effect.mapError((cause) =>
  new StorageError({
    operation: "open database",
    detail: `DATABASE_PATH ${filename} cannot be opened as a SQLite database (${reasonOf(cause)}). ${pathAdvice}`
  })
)))

const migrate = SqliteMigrator.layer({ loader: SqliteMigrator.fromRecord(migrations) }).pipe(
  Layer.provide(NodeContext.layer),
  Layer.mapError((cause) => new StorageError({ operation: "migrate database", detail: reasonOf(cause) }))
)

/** How often a waiter asks SQLite whether another process wrote: one PRAGMA, no table read. */
const POLL_INTERVAL = Duration.seconds(1)

/** SQLite's ways: BEGIN IMMEDIATE, data_version, and leases in a table. */
const sqliteEngine = (filename: string) =>
  Layer.effect(
    Engine,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient

      /**
       * BEGIN IMMEDIATE: a read-then-write transaction waits for the write lock (busy_timeout) instead of failing
       * with SQLITE_BUSY_SNAPSHOT when another process wrote in between. SqliteClient's own is a deferred BEGIN.
       */
      const writeTransaction = lockedTransactions(sql, "BEGIN IMMEDIATE", "sqlite")

      /**
       * SQLite's counter of commits made by other connections: a change means another process (a second MCP
       * client, the webhooks process) wrote, so a waiter knows when to look again without querying the tables.
       */
      const dataVersion = Effect.map(sql<{ data_version: number }>`PRAGMA data_version`, (rows) => rows[0]?.data_version ?? 0)

      const watchChanges = Effect.map(dataVersion, (initial) => {
        let version = initial
        const next: Effect.Effect<void, SqlError> = Effect.flatMap(Effect.zipRight(Effect.sleep(POLL_INTERVAL), dataVersion), (now) => {
          if (now === version) return next
          version = now
          return Effect.void
        })
        return next
      })

      return Engine.of({
        description: Effect.map(
          sql<{ version: string }>`SELECT sqlite_version() AS version`,
          (rows) => ({ engine: "sqlite", version: rows[0]?.version ?? "", location: filename })
        ),
        writeTransaction,
        watchChanges,
        exclusive: sqliteExclusive(sql)
      })
    })
  )

/**
 * SQLite at `filename`, configured and migrated. Opening and migrating is ~40 ms of synchronous work: started
 * only after the event loop has polled for input once more, so an MCP client's `initialize` (in the pipe
 * since spawn) is answered first. Two turns: start-up itself may run in a poll-phase callback, whose first
 * turn ends before any poll.
 */
export const sqliteLayer = (filename: string) =>
  Layer.merge(migrate, sqliteEngine(filename)).pipe(
    // The settings first: the page size is fixed once the first table exists.
    Layer.provide(settings(filename)),
    Layer.provideMerge(client(filename)),
    Layer.provide(Layer.effectDiscard(Effect.zipRight(Effect.zipRight(nextTurnOfEventLoop, nextTurnOfEventLoop), ensureWritable(filename))))
  )
