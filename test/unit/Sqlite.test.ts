/**
 * The connection shared by @effect/sql and the webhook path (src/Sqlite.ts): batched writes commit
 * together yet each as if alone, and never run inside an @effect/sql transaction that is still open.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import Database from "better-sqlite3"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Sqlite from "../../src/Sqlite.js"
import { tempDatabase } from "./support.js"

const withTable = (filename: string) =>
  Layer.effectDiscard(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`)).pipe(
    Layer.provideMerge(Sqlite.layer(filename))
  )

const inMemory = Effect.provide(withTable(":memory:"))

interface Outcome {
  readonly error?: unknown
  readonly value?: unknown
}

/** Submits every write in the same tick and resolves with each one's outcome, in order. */
const submitAll = (writes: ReadonlyArray<(db: Database.Database) => unknown>) =>
  Effect.flatMap(Sqlite.Sqlite, ({ db, submit }) =>
    Effect.promise(() =>
      Promise.all(writes.map((write) =>
        new Promise<Outcome>((resolve) => submit(() => write(db), (error, value) => resolve(error === undefined ? { value } : { error })))
      ))
    ))

const insert = (k: string, v: number) => (db: Database.Database) => db.prepare("INSERT INTO t (k, v) VALUES (?, ?)").run(k, v).changes

const rows = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ k: string; v: number }>`SELECT k, v FROM t ORDER BY k`)

describe("Sqlite.submit", () => {
  it.scopedLive("writes submitted together are committed in one transaction, and each learns its own result", () =>
    Effect.gen(function*() {
      const filename = yield* tempDatabase("batch.db")
      yield* Effect.gen(function*() {
        // Another connection's data_version moves once per commit made by someone else.
        const observer = new Database(filename)
        const version = () => observer.pragma("data_version", { simple: true }) as number
        const before = version()
        const outcomes = yield* submitAll([insert("a", 1), insert("b", 2), insert("c", 3)])
        expect(outcomes).toEqual([{ value: 1 }, { value: 1 }, { value: 1 }])
        expect(version() - before).toBe(1)
        observer.close()
      }).pipe(Effect.provide(withTable(filename)))
    }))

  it.live("one write failing fails alone: the others are committed, nothing of it is", () =>
    Effect.gen(function*() {
      const outcomes = yield* submitAll([
        insert("a", 1),
        (db) => {
          insert("half", 9)(db)
          return insert("a", 2)(db) // the primary key is taken: SQLITE_CONSTRAINT after a first insert
        },
        insert("b", 2)
      ])
      expect(outcomes[0]).toEqual({ value: 1 })
      expect(outcomes[1]!.error).toBeInstanceOf(Database.SqliteError)
      expect(outcomes[2]).toEqual({ value: 1 })
      expect(yield* rows).toEqual([{ k: "a", v: 1 }, { k: "b", v: 2 }])
    }).pipe(inMemory))

  it.live("a database that refuses writes fails every write of the batch and stores nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`PRAGMA query_only = ON`
      const outcomes = yield* submitAll([insert("a", 1), insert("b", 2)])
      expect(outcomes.map((o) => (o.error as Error).message)).toEqual([
        "attempt to write a readonly database",
        "attempt to write a readonly database"
      ])
      yield* sql`PRAGMA query_only = OFF`
      expect(yield* rows).toEqual([])
    }).pipe(inMemory))

  it.live("waits for an open @effect/sql transaction, and is not part of it: rolling it back keeps the batch", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const inside = yield* Deferred.make<void>()
      const finish = yield* Deferred.make<void>()
      const transaction = yield* sql.withTransaction(
        Effect.gen(function*() {
          yield* sql`INSERT INTO t (k, v) VALUES ('tx', 0)`
          yield* Deferred.succeed(inside, undefined)
          yield* Deferred.await(finish)
          return yield* Effect.fail("roll back")
        })
      ).pipe(Effect.fork)
      yield* Deferred.await(inside)

      let committed = false
      const batch = yield* submitAll([insert("batch", 1)]).pipe(Effect.tap(() => Effect.sync(() => (committed = true))), Effect.fork)
      // The batch is scheduled on the next turn of the event loop; several turns later it is still waiting.
      for (let i = 0; i < 5; i++) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      expect(committed).toBe(false)

      yield* Deferred.succeed(finish, undefined)
      expect(Exit.isFailure(yield* Fiber.await(transaction))).toBe(true)
      expect(yield* Fiber.join(batch)).toEqual([{ value: 1 }])
      expect(yield* rows).toEqual([{ k: "batch", v: 1 }])
    }).pipe(inMemory))
})

describe("Sqlite.write", () => {
  it.live("SQLite's errors become a StorageError naming the operation; anything else is a defect", () =>
    Effect.gen(function*() {
      const { write } = yield* Sqlite.Sqlite
      const { db } = yield* Sqlite.Sqlite
      yield* write("seed", () => insert("a", 1)(db))
      const failure = yield* Effect.flip(write("store a", () => insert("a", 2)(db)))
      expect(failure).toMatchObject({ _tag: "StorageError", operation: "store a" })
      expect(failure.detail).toMatch(/UNIQUE constraint failed/)
      const defect = yield* Effect.exit(write("bug", () => {
        throw new TypeError("not a storage problem")
      }))
      expect(Exit.isFailure(defect) && defect.cause._tag === "Die").toBe(true)
    }).pipe(inMemory))
})
