import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import Database from "better-sqlite3"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Worker } from "node:worker_threads"
import { startCheckpointWorker } from "./Checkpoints.js"
import { StorageError } from "./domain/Errors.js"

/** Called once a batched write is committed (no error) or known not to be (the error). */
export type Done<A> = (error: unknown, value?: A) => void

export interface SqliteShape {
  readonly db: Database.Database
  /**
   * Runs `write` (synchronous statements on `db`) in the next batch: every write submitted before the batch
   * starts shares one IMMEDIATE transaction, each as if alone (see `commit`). `done` is called after the
   * COMMIT. This is the webhook path: no fiber, no promise, one COMMIT for all the requests that arrived
   * together.
   */
  readonly submit: <A>(write: () => A, done: Done<A>) => void
  /** `submit` as an effect; SQLite's failures become StorageErrors naming `operation`. Not inside `writeTransaction`. */
  readonly write: <A>(operation: string, write: () => A) => Effect.Effect<A, StorageError>
}

/**
 * The one SQLite connection of a process, opened here rather than by @effect/sql-sqlite-node so that the
 * webhook path can run prepared statements on it directly: through @effect/sql a statement costs 15–30 µs,
 * on the driver 1–5 µs. @effect/sql's client (queries, migrations, `withTransaction`) runs on the same
 * connection; one turn (a semaphore) keeps its transactions and the webhook batches apart.
 */
export class Sqlite extends Context.Tag("twilio-mcp/Sqlite")<Sqlite, SqliteShape>() {}

/** A failed statement as @effect/sql reports it, keeping SQLite's error as the cause. */
const failed = (cause: unknown) => new SqlError({ cause, message: "Failed to execute statement" })

type Transform = <A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>

/** @effect/sql's connection interface over the driver, with prepared statements cached by their text. */
const makeConnection = (db: Database.Database): SqlConnection.Connection => {
  const prepared = new Map<string, Database.Statement>()
  const prepare = (sql: string) => {
    let statement = prepared.get(sql)
    if (statement === undefined) {
      // Statements are built from a fixed set of templates; the bound keeps a pathological caller finite.
      if (prepared.size >= 500) prepared.clear()
      statement = db.prepare(sql)
      prepared.set(sql, statement)
    }
    return statement
  }
  const run = (statement: () => Database.Statement, params: ReadonlyArray<unknown>, raw: boolean) =>
    Effect.try({
      try: () => {
        const s = statement()
        if (s.reader) return s.all(...params) as ReadonlyArray<unknown>
        const result = s.run(...params)
        return raw ? result : []
      },
      catch: failed
    })
  const rows = (statement: () => Database.Statement, params: ReadonlyArray<unknown>, transformRows: Transform | undefined) => {
    const all = run(statement, params, false) as Effect.Effect<ReadonlyArray<any>, SqlError>
    return transformRows === undefined ? all : Effect.map(all, transformRows)
  }
  return {
    execute: (sql, params, transformRows) => rows(() => prepare(sql), params, transformRows),
    executeRaw: (sql, params) => run(() => prepare(sql), params, true),
    executeValues: (sql, params) =>
      Effect.try({
        try: () => {
          const s = prepare(sql)
          if (!s.reader) {
            s.run(...params)
            return []
          }
          s.raw(true)
          try {
            return s.all(...params) as ReadonlyArray<ReadonlyArray<unknown>>
          } finally {
            s.raw(false)
          }
        },
        catch: failed
      }),
    executeUnprepared: (sql, params, transformRows) => rows(() => db.prepare(sql), params, transformRows),
    executeStream: () => Stream.die(new Error("streaming queries are not supported"))
  }
}

interface Submitted {
  readonly write: () => unknown
  readonly done: Done<unknown>
}

/**
 * The batches of `submit`. A batch is scheduled with the first write after the last one (setImmediate: the
 * requests already received are parsed first and join it) and takes the turn, so it never runs inside an
 * @effect/sql transaction that is waiting for a fiber. `beforeBatch` starts the checkpoint worker (once).
 */
const makeBatches = (db: Database.Database, turn: Effect.Semaphore, beforeBatch: () => void) => {
  let waiting: Array<Submitted> = []

  /** Tells a write its outcome; a callback's own failure is its caller's to handle and must not cost the others theirs. */
  const tell = (done: Done<unknown>, error: unknown, value?: unknown) => {
    try {
      done(error, value)
    } catch {
      // The webhook callbacks catch and log their own failures; nothing else is left to do here.
    }
  }

  /** One write in a transaction of its own: how a batch in which a write failed is retried, write by write. */
  const alone = ({ done, write }: Submitted) => {
    let value: unknown
    try {
      value = db.transaction(write).immediate()
    } catch (error) {
      return tell(done, error)
    }
    tell(done, undefined, value)
  }

  /**
   * All the writes in one transaction. If a write fails the whole batch is rolled back and each write runs
   * again alone, so a write's outcome never depends on the others'; cheaper than a savepoint per write, for
   * a failure that is rare. If BEGIN or COMMIT fails (disk full, locked past busy_timeout) every write of
   * the batch fails with it: running each again would only repeat the wait.
   */
  const commit = (batch: ReadonlyArray<Submitted>) => {
    // A transaction left open (it should never be) would turn this one into a savepoint of it: refuse.
    if (db.inTransaction) return batch.forEach(({ done }) => tell(done, new Error("a transaction is already open on the connection")))
    let writeFailed = false
    let values: Array<unknown>
    try {
      values = db.transaction(() =>
        batch.map(({ write }) => {
          try {
            return write()
          } catch (error) {
            writeFailed = true
            throw error
          }
        })
      ).immediate()
    } catch (error) {
      if (writeFailed && batch.length > 1) return batch.forEach(alone)
      return batch.forEach(({ done }) => tell(done, error))
    }
    batch.forEach(({ done }, i) => tell(done, undefined, values[i]))
  }

  const runBatch = turn.withPermits(1)(Effect.sync(() => {
    const batch = waiting
    waiting = []
    beforeBatch()
    commit(batch)
  }))

  return <A>(write: () => A, done: Done<A>) => {
    if (waiting.push({ write, done: done as Done<unknown> }) === 1) setImmediate(() => Effect.runFork(runBatch))
  }
}

/** Only SQLite's own errors are storage failures; anything else thrown by a write is a bug. */
const storageFailure = (operation: string, error: unknown) =>
  error instanceof Database.SqliteError
    ? Effect.fail(new StorageError({ operation, detail: error.message }))
    : Effect.die(error)

/** Opens `filename` (WAL), and provides the connection with @effect/sql's client over it. */
export const layer = (filename: string) =>
  Layer.scopedContext(Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(
      Effect.sync(() => new Database(filename)),
      (db) => Effect.sync(() => db.close())
    )
    // For a new file only (an existing database keeps its page size). A webhook's index updates land on
    // pages all over the file; each is written whole to the WAL and again by the checkpoint, so smaller
    // pages mean less I/O per message: ~20 % more inbound webhooks/s once the store holds 100k messages.
    db.pragma("page_size = 2048")
    db.pragma("journal_mode = WAL")
    const turn = yield* Effect.makeSemaphore(1)
    const connection = makeConnection(db)
    // The turn, held until the statement's (or the transaction's) scope closes: a statement outside a
    // transaction never runs inside another fiber's, nor inside a webhook batch.
    const holdTurn = Effect.uninterruptibleMask((restore) =>
      Effect.as(
        Effect.zipRight(restore(turn.take(1)), Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, turn.release(1)))),
        connection
      )
    )
    const client = yield* SqlClient.make({
      acquirer: holdTurn,
      transactionAcquirer: holdTurn,
      compiler: Statement.makeCompilerSqlite(),
      spanAttributes: [["db.system.name", "sqlite"]],
      // Takes the write lock first: a read-then-write transaction then waits for busy_timeout instead of
      // failing with SQLITE_BUSY_SNAPSHOT when another process wrote in between.
      beginTransaction: "BEGIN IMMEDIATE"
    })
    let checkpoints: Worker | undefined
    yield* Effect.addFinalizer(() => checkpoints === undefined ? Effect.void : Effect.promise(() => checkpoints!.terminate()))
    let noWorker = false
    yield* Effect.addFinalizer(() => Effect.sync(() => (noWorker = true)))
    const startCheckpoints = () => {
      if (checkpoints !== undefined || noWorker) return
      try {
        checkpoints = startCheckpointWorker(filename, (whilePaused) =>
          Effect.runFork(turn.withPermits(1)(Effect.async<void>((resume) => whilePaused(() => resume(Effect.void))))))
      } catch {
        // No thread: SQLite's own checkpoint (see Database.ts) keeps the WAL bounded, on the event loop.
        noWorker = true
      }
    }
    const submit = makeBatches(db, turn, filename === ":memory:" ? () => {} : startCheckpoints)
    const sqlite: SqliteShape = {
      db,
      submit,
      write: (operation, write) =>
        Effect.async((resume) =>
          submit(write, (error, value) => resume(error === undefined ? Effect.succeed(value!) : storageFailure(operation, error)))
        )
    }
    return Context.make(Sqlite, sqlite).pipe(Context.add(SqlClient.SqlClient, client))
  })).pipe(Layer.provide(Reactivity.layer))
