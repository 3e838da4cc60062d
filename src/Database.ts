import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppConfig } from "./Config.js"
import { StorageError } from "./domain/Errors.js"
import init from "./migrations/0001_init.js"
import agentFeatures from "./migrations/0002_agent_features.js"
import sendLog from "./migrations/0003_send_log.js"

export const migrations = { "0001_init": init, "0002_agent_features": agentFeatures, "0003_send_log": sendLog }

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
        detail: `DATABASE_PATH ${filename} is not writable (${(cause as Error).message}). ` +
          "Point DATABASE_PATH at a writable file; relative paths resolve against the project folder."
      })
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
      yield* migrate
    }).pipe(
      Effect.mapError((cause) => new StorageError({ operation: "migrate database", detail: String(cause) }))
    )
  ).pipe(
    // The client's ConfigError cannot happen with a literal config.
    Layer.provideMerge(Layer.orDie(SqliteClient.layer({ filename }))),
    Layer.provide(Layer.effectDiscard(ensureWritable(filename)))
  )

export const SqlLive = Layer.unwrapEffect(Effect.map(AppConfig, (config) => makeSqlLayer(config.databasePath)))

/**
 * A transaction that takes SQLite's write lock with its first statement. A deferred transaction that reads
 * first and writes later can fail at once with SQLITE_BUSY_SNAPSHOT when another process wrote in between;
 * taking the lock first makes it wait for busy_timeout instead. The no-op UPDATE is the portable way to
 * take it through @effect/sql, whose BEGIN is not configurable.
 */
export const writeTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(Effect.zipRight(sql`UPDATE messages SET id = id WHERE 0`, effect)).pipe(
      Effect.catchIf(
        (e): e is SqlError => e instanceof SqlError,
        (e) => Effect.fail(new StorageError({ operation: "write transaction", detail: e.message }))
      )
    ))

/** A cheap query that fails when the database is unusable: for health checks. */
export const ping = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT COUNT(*) AS n FROM conversations WHERE 0`).pipe(
  Effect.asVoid,
  Effect.mapError((e) => new StorageError({ operation: "health check", detail: e.message }))
)

/**
 * SQLite's counter of commits made by other connections: a change means another process (a second MCP
 * client, the webhooks process) wrote, so a waiter knows when to look again without querying the tables.
 */
export const dataVersion = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ data_version: number }>`PRAGMA data_version`).pipe(
  Effect.map((rows) => rows[0]?.data_version ?? 0),
  Effect.mapError((e) => new StorageError({ operation: "check for changes", detail: e.message }))
)
