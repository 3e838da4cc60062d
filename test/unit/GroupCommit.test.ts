/**
 * Group commit (src/storage/GroupCommit.ts) over the real SQLite client: writes submitted together share one
 * IMMEDIATE transaction yet each fails alone, and a batch never runs inside another fiber's transaction.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import Database from "better-sqlite3"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { StorageError } from "../../src/domain/Errors.js"
import { Database as Db } from "../../src/storage/Database.js"
import * as GroupCommit from "../../src/storage/GroupCommit.js"
import { sqliteLayer } from "../../src/storage/Sqlite.js"
import { tempDatabase } from "./support.js"

const withTable = (filename: string) =>
  Layer.effectDiscard(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`)).pipe(
    Layer.provideMerge(Db.DefaultWithoutDependencies),
    Layer.provideMerge(sqliteLayer(filename))
  )

/** A write per row; a row whose key is taken fails with SQLite's UNIQUE error, as a StorageError. */
const insertAll = (rows: ReadonlyArray<readonly [string, number]>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.forEach(rows, ([k, v]) =>
      sql`INSERT INTO t (k, v) VALUES (${k}, ${v})`.pipe(
        Effect.as(k),
        Effect.mapError((e) => new StorageError({ operation: "insert", detail: String(e.cause) }))
      )))

/** A group commit over `insertAll`, and every write submitted in the same instant. */
const submitAll = (rows: ReadonlyArray<readonly [string, number]>) =>
  Effect.gen(function*() {
    const database = yield* Db
    const sql = yield* SqlClient.SqlClient
    const submit = yield* GroupCommit.make({
      transaction: database.writeTransaction,
      write: (batch: ReadonlyArray<readonly [string, number]>) => Effect.provideService(insertAll(batch), SqlClient.SqlClient, sql),
      maxBatch: 100
    })
    return yield* Effect.forEach(rows, (row) => Effect.exit(submit(row)), { concurrency: "unbounded" })
  })

const rows = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ k: string; v: number }>`SELECT k, v FROM t ORDER BY k`)

describe("GroupCommit", () => {
  it.scopedLive("writes submitted together are committed in one transaction, and each learns its own result", () =>
    Effect.gen(function*() {
      const filename = yield* tempDatabase("batch.db")
      yield* Effect.gen(function*() {
        // Another connection's data_version moves once per commit made by someone else.
        const observer = new Database(filename)
        const version = () => observer.pragma("data_version", { simple: true }) as number
        const before = version()
        const outcomes = yield* submitAll([["a", 1], ["b", 2], ["c", 3]])
        expect(outcomes).toEqual([Exit.succeed("a"), Exit.succeed("b"), Exit.succeed("c")])
        expect(version() - before).toBe(1)
        observer.close()
      }).pipe(Effect.provide(withTable(filename)))
    }))

  it.scopedLive("one write failing fails alone: the others are committed, nothing of it is", () =>
    Effect.gen(function*() {
      const outcomes = yield* submitAll([["a", 1], ["a", 2], ["b", 2]])
      expect(outcomes[0]).toEqual(Exit.succeed("a"))
      expect(Exit.isFailure(outcomes[1]!) && JSON.stringify(outcomes[1]!.cause)).toMatch(/UNIQUE constraint failed/)
      expect(outcomes[2]).toEqual(Exit.succeed("b"))
      expect(yield* rows).toEqual([{ k: "a", v: 1 }, { k: "b", v: 2 }])
    }).pipe(Effect.provide(withTable(":memory:"))))

  it.scopedLive("a database that refuses writes fails every write of the batch and stores nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`PRAGMA query_only = ON`
      const outcomes = yield* submitAll([["a", 1], ["b", 2]])
      expect(outcomes.map((o) => Exit.isFailure(o) && JSON.stringify(o.cause))).toEqual([
        expect.stringMatching(/readonly database/),
        expect.stringMatching(/readonly database/)
      ])
      yield* sql`PRAGMA query_only = OFF`
      expect(yield* rows).toEqual([])
    }).pipe(Effect.provide(withTable(":memory:"))))

  it.scopedLive("waits for an open transaction, and is not part of it: rolling it back keeps the batch", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const database = yield* Db
      const inside = yield* Deferred.make<void>()
      const finish = yield* Deferred.make<void>()
      const transaction = yield* database.writeTransaction(
        Effect.gen(function*() {
          yield* sql`INSERT INTO t (k, v) VALUES ('tx', 0)`
          yield* Deferred.succeed(inside, undefined)
          yield* Deferred.await(finish)
          return yield* Effect.fail("roll back")
        })
      ).pipe(Effect.fork)
      yield* Deferred.await(inside)

      const batch = yield* Effect.fork(submitAll([["batch", 1]]))
      for (let i = 0; i < 5; i++) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      expect(yield* Fiber.poll(batch)).toEqual(expect.objectContaining({ _tag: "None" }))

      yield* Deferred.succeed(finish, undefined)
      expect(Exit.isFailure(yield* Fiber.await(transaction))).toBe(true)
      expect(yield* Fiber.join(batch)).toEqual([Exit.succeed("batch")])
      expect(yield* rows).toEqual([{ k: "batch", v: 1 }])
    }).pipe(Effect.provide(withTable(":memory:"))))
})

describe("Database.writeTransaction", () => {
  it.scopedLive("takes the write lock at BEGIN: another connection cannot write until it commits", () =>
    Effect.gen(function*() {
      const filename = yield* tempDatabase("lock.db")
      yield* Effect.gen(function*() {
        const database = yield* Db
        const other = new Database(filename, { timeout: 0 })
        const tryWrite = () => {
          try {
            other.prepare("INSERT INTO t (k, v) VALUES ('other', 1)").run()
            return "written"
          } catch (error) {
            return (error as { code?: string }).code
          }
        }
        // Nothing read or written yet inside: a deferred BEGIN would not hold any lock here.
        const during = yield* database.writeTransaction(Effect.sync(tryWrite))
        expect(during).toBe("SQLITE_BUSY")
        expect(tryWrite()).toBe("written")
        other.close()
      }).pipe(Effect.provide(withTable(filename)))
    }))
})
