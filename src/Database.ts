import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppConfig } from "./Config.js"
import { StorageError } from "./domain/Errors.js"
import init from "./migrations/0001_init.js"
import agentFeatures from "./migrations/0002_agent_features.js"
import sendLog from "./migrations/0003_send_log.js"

export const migrations = { "0001_init": init, "0002_agent_features": agentFeatures, "0003_send_log": sendLog }

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
  SqliteClient.layer({ filename }).pipe(
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

/** SqlErrors escaping a write become StorageErrors that name SQLite's reason. */
const asStorageError = <A, E, R>(effect: Effect.Effect<A, E | SqlError, R>) =>
  Effect.catchIf(
    effect,
    (e): e is SqlError => e instanceof SqlError,
    (e) => Effect.fail(storageError("write transaction")(e))
  )

/**
 * A transaction that takes SQLite's write lock with its first statement. A deferred transaction that reads
 * first and writes later can fail at once with SQLITE_BUSY_SNAPSHOT when another process wrote in between;
 * taking the lock first makes it wait for busy_timeout instead. The no-op UPDATE is the portable way to
 * take it through @effect/sql, whose BEGIN is not configurable.
 */
const transaction = <A, E, R>(sql: SqlClient.SqlClient, effect: Effect.Effect<A, E, R>) =>
  asStorageError(sql.withTransaction(Effect.zipRight(sql`UPDATE messages SET id = id WHERE 0`, effect)))

/** A write waiting for the next group commit: its effect (context provided) and where its result goes. */
interface Waiting {
  readonly write: Effect.Effect<unknown, unknown>
  readonly result: Deferred.Deferred<unknown, unknown>
  cancelled: boolean
}

/** The writes waiting on one connection for the next group commit, and a turn to commit them one group at a time. */
interface Group {
  readonly waiting: Array<Waiting>
  readonly turn: Effect.Semaphore
}

const groups = new WeakMap<SqlClient.SqlClient, Group>()

const groupOf = (sql: SqlClient.SqlClient): Group => {
  let group = groups.get(sql)
  if (group === undefined) {
    group = { waiting: [], turn: Effect.unsafeMakeSemaphore(1) }
    groups.set(sql, group)
  }
  return group
}

const alone = (sql: SqlClient.SqlClient, waiting: Waiting) =>
  Effect.flatMap(Effect.exit(transaction(sql, waiting.write)), (exit) => Deferred.done(waiting.result, exit))

/**
 * Every waiting write in one transaction, one after the other. Any failure rolls the whole group back and
 * each write runs again alone, so a write's outcome never depends on the others in its group.
 */
const together = (sql: SqlClient.SqlClient, batch: ReadonlyArray<Waiting>) =>
  Effect.gen(function*() {
    const values: Array<unknown> = []
    const all = transaction(sql, Effect.forEach(batch, (w) => Effect.map(w.write, (value) => values.push(value)), { discard: true }))
    if (Exit.isFailure(yield* Effect.exit(all))) return yield* Effect.forEach(batch, (w) => alone(sql, w), { discard: true })
    yield* Effect.forEach(batch, (w, i) => Deferred.succeed(w.result, values[i]), { discard: true })
  })

/**
 * After the I/O already received has been handled, so that the requests which arrived with the first
 * write have joined its group: takes every write waiting and commits them.
 */
const commitGroup = (sql: SqlClient.SqlClient, group: Group) =>
  Effect.zipRight(
    nextTurnOfEventLoop,
    group.turn.withPermits(1)(Effect.suspend(() => {
      const batch = group.waiting.splice(0).filter((w) => !w.cancelled)
      return batch.length === 0 ? Effect.void : batch.length === 1 ? alone(sql, batch[0]!) : together(sql, batch)
    }))
  )

/**
 * `effect` in a write transaction of its own (see `transaction`), with group commit: writes that arrive
 * together (concurrent webhooks) are committed together, each as if alone. One COMMIT (and its share of
 * WAL checkpoints) is most of a small write's cost; sharing it is what lets the webhook server keep up
 * under load. The first write of a group commits it; the result is returned only once it is committed.
 * Inside a transaction already, `effect` simply joins it.
 */
export const writeTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | StorageError, R | SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    if (Option.isSome(yield* Effect.serviceOption(SqlClient.TransactionConnection))) return yield* transaction(sql, effect)
    const waiting: Waiting = {
      write: Effect.provide(effect, yield* Effect.context<R>()),
      result: yield* Deferred.make<unknown, unknown>(),
      cancelled: false
    }
    const group = groupOf(sql)
    const first = group.waiting.push(waiting) === 1
    // The others' writes depend on the first one's commit: it runs even if the first caller is interrupted.
    if (first) yield* Effect.uninterruptible(commitGroup(sql, group))
    return (yield* Deferred.await(waiting.result).pipe(
      Effect.onInterrupt(() => Effect.sync(() => (waiting.cancelled = true)))
    )) as A
  }) as Effect.Effect<A, E | StorageError, R | SqlClient.SqlClient>

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
