import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppConfig } from "./Config.js"
import { StorageError } from "./domain/Errors.js"
import init from "./migrations/0001_init.js"
import agentFeatures from "./migrations/0002_agent_features.js"
import sendLog from "./migrations/0003_send_log.js"
import searchBacklog from "./migrations/0004_search_backlog.js"
import inboundSenders from "./migrations/0005_inbound_senders.js"
import * as Sqlite from "./Sqlite.js"

export const migrations = {
  "0001_init": init,
  "0002_agent_features": agentFeatures,
  "0003_send_log": sendLog,
  "0004_search_backlog": searchBacklog,
  "0005_inbound_senders": inboundSenders
}

const pathAdvice = "Point DATABASE_PATH at a writable file; relative paths resolve against the project folder."

/** A DATABASE_PATH that cannot be created or written fails start-up with a message that names it. */
const ensureWritable = (filename: string) =>
  Effect.try({
    try: () => {
      if (filename === ":memory:") return
      const dir = path.dirname(filename)
      fs.mkdirSync(dir, { recursive: true })
      fs.accessSync(dir, fs.constants.W_OK)
      if (fs.existsSync(filename)) fs.accessSync(filename, fs.constants.R_OK | fs.constants.W_OK)
    },
    catch: (cause) =>
      new StorageError({
        operation: "open database",
        detail: `DATABASE_PATH ${filename} is not writable (${(cause as Error).message}). ${pathAdvice}`
      })
  })

/**
 * The client, whose opening throws (a defect) for a directory, a read-only mount or a file that is not a
 * database: turned into the same named StorageError, not SQLite's bare "unable to open database file".
 */
const openClient = (filename: string) =>
  Sqlite.layer(filename).pipe(
    Layer.catchAllCause((cause) => {
      const error = Cause.squash(cause)
      return Layer.fail(
        new StorageError({
          operation: "open database",
          detail: `DATABASE_PATH ${filename} cannot be opened as a SQLite database (${error instanceof Error ? error.message : String(error)}). ${pathAdvice}`
        })
      )
    })
  )

/** Resumes after the I/O already received has been handled (setImmediate): about 0.1 ms when idle. */
const nextTurnOfEventLoop = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const migrate = Migrator.make({})({ loader: Migrator.fromRecord(migrations) })

/**
 * SQLite in WAL mode with a busy timeout long enough that processes sharing the file (two MCP clients and a
 * webhook server) queue for the write lock instead of failing, then the versioned migrations.
 */
export const makeSqlLayer = (filename: string) =>
  Layer.effectDiscard(
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`PRAGMA busy_timeout = 10000`
      yield* sql`PRAGMA foreign_keys = ON`
      yield* sql`PRAGMA synchronous = NORMAL`
      // Checkpoints (copying the WAL back into the database, with an fsync) run on a worker thread
      // (Checkpoints.ts); this connection's own, on the event loop, only past 10,000 pages (20–40 MB),
      // should the worker not run. The WAL file is cut back to 64 MB when it restarts.
      yield* sql`PRAGMA wal_autocheckpoint = 10000`
      yield* sql`PRAGMA journal_size_limit = 67108864`
      yield* migrate
    }).pipe(
      Effect.mapError((cause) => new StorageError({ operation: "migrate database", detail: String(cause) }))
    )
  ).pipe(
    Layer.provideMerge(openClient(filename)),
    // Opening and migrating is ~40 ms of synchronous work: started only after the event loop has polled
    // for input once more, so an MCP client's `initialize` (in the pipe since spawn) is answered first.
    // Two turns: start-up itself may run in a poll-phase callback, whose first turn ends before any poll.
    Layer.provide(Layer.effectDiscard(Effect.zipRight(Effect.zipRight(nextTurnOfEventLoop, nextTurnOfEventLoop), ensureWritable(filename))))
  )

export const SqlLive = Layer.unwrapEffect(Effect.map(AppConfig, (config) => makeSqlLayer(config.databasePath)))

/**
 * A failed query as a StorageError that keeps SQLite's own reason ("database or disk is full", "database is
 * locked"): @effect/sql's message alone is always "Failed to execute statement". Every store uses it.
 */
export const storageError = (operation: string) => (cause: unknown) =>
  new StorageError({
    operation,
    detail: cause instanceof Error
      ? cause.cause instanceof Error ? `${cause.message}: ${cause.cause.message}` : cause.message
      : String(cause)
  })

/** A synchronous store operation as an effect: SQLite's failures become StorageErrors naming `operation`. */
export const attempt = <A>(operation: string, run: () => A): Effect.Effect<A, StorageError> =>
  Effect.try({ try: run, catch: storageError(operation) })

/**
 * `effect` in one transaction, which takes SQLite's write lock with its BEGIN (see Sqlite.ts); inside a
 * transaction already, in a savepoint of it. SqlErrors escaping it become StorageErrors naming SQLite's reason.
 */
export const writeTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | StorageError, R | SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.catchIf(
      sql.withTransaction(effect),
      (e): e is SqlError => e instanceof SqlError,
      (e) => Effect.fail(storageError("write transaction")(e))
    ))

/** A cheap query that fails when the database is unusable: for health checks. */
export const ping = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT COUNT(*) AS n FROM conversations WHERE 0`).pipe(
  Effect.asVoid,
  Effect.mapError(storageError("health check"))
)

/**
 * SQLite's counter of commits made by other connections: a change means another process (a second MCP
 * client, the webhooks process) wrote, so a waiter knows when to look again without querying the tables.
 */
export const dataVersion = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ data_version: number }>`PRAGMA data_version`).pipe(
  Effect.map((rows) => rows[0]?.data_version ?? 0),
  Effect.mapError(storageError("check for changes"))
)
