/**
 * The full-text index filled in bulk (SearchIndex.ts, migration 0004): a search covers every stored
 * message, however it was stored; the background run indexes without a search; older databases keep
 * their index through the migration.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { TestLayer } from "../support/TestLayer.js"
import { alice, messageSid, migratedUpTo, ours, tempDatabase } from "../unit/support.js"
import { callOk, inbound } from "./support.js"

const search = (query: string) => Effect.map(callOk("search_messages", { query }), (r) => r.messages.map((m: any) => m.body as string))

const indexState = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(
    sql<{ indexed: number; newest: number }>`SELECT (SELECT id FROM search_indexed) AS indexed, (SELECT MAX(id) FROM messages) AS newest`,
    (rows) => rows[0]!
  ))

/** Rows written straight into SQLite, as another process (or an import) would: nothing here schedules indexing. */
const insertDirectly = (from: number, count: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.forEach(Array.from({ length: count }, (_, i) => from + i), (n) =>
      sql`
        INSERT INTO messages (sid, direction, from_address, to_address, body, status, status_rank, created_at, updated_at)
        VALUES (${messageSid(n)}, 'inbound', ${alice}, ${ours}, ${`parcel number${n}`}, 'received', 4, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`,
    { discard: true }))

/** Until the check holds, giving the event loop a turn between tries (batched writes run on setImmediate). */
const eventually = <A>(check: Effect.Effect<A, unknown, SqlClient.SqlClient>, until: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      const value = yield* check
      if (until(value)) return value
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
    }
    throw new Error("the condition never held")
  })

describe("search index", () => {
  it.effect("a message is searchable as soon as it is stored, before the background run has indexed it", () =>
    Effect.gen(function*() {
      yield* inbound(alice, "Is the zucchini ripe?")
      const before = yield* indexState
      expect(before.indexed).toBeLessThan(before.newest)
      expect(yield* search("zucchini")).toEqual(["Is the zucchini ripe?"])
      const after = yield* indexState
      expect(after.indexed).toBe(after.newest)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("the background run indexes new messages a moment after they arrive, with no search", () =>
    Effect.gen(function*() {
      yield* inbound(alice, "first")
      yield* inbound(alice, "second")
      expect((yield* indexState).indexed).toBe(0)
      // README: the index is filled a second after messages arrive.
      yield* TestClock.adjust("1 second")
      yield* eventually(indexState, (s) => s.indexed === s.newest)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("messages written by another process, many chunks' worth, are all found by the next search", () =>
    Effect.gen(function*() {
      yield* insertDirectly(1, 1_234)
      expect(yield* search("number1")).toEqual(["parcel number1"])
      expect(yield* search("number1234")).toEqual(["parcel number1234"])
      expect((yield* indexState).indexed).toBe(1_234)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a row that reuses the id of a deleted newest row is found, and the index stays consistent", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* insertDirectly(1, 3)
      expect(yield* search("number3")).toEqual(["parcel number3"])
      yield* sql`DELETE FROM messages WHERE sid = ${messageSid(3)}`
      yield* insertDirectly(4, 1) // takes id 3, at the indexed mark
      expect(yield* search("number4")).toEqual(["parcel number4"])
      expect(yield* search("number3")).toEqual([])
      yield* sql`INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)`
    }).pipe(Effect.provide(TestLayer())))

  it.scoped("a database from before migration 0004 keeps its messages searchable, and deletes stay consistent", () =>
    Effect.gen(function*() {
      const filename = yield* tempDatabase("store.db")
      // The older schema, with messages indexed by its per-row trigger.
      yield* migratedUpTo(filename, "0003_send_log", insertDirectly(1, 3))

      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        expect((yield* indexState).indexed).toBe(3)
        yield* insertDirectly(4, 2)
        expect(yield* search("number2")).toEqual(["parcel number2"])
        expect(yield* search("number5")).toEqual(["parcel number5"])
        // An indexed message and one not yet indexed, deleted: neither is found, and FTS5 finds its index
        // consistent with the messages table.
        yield* insertDirectly(6, 1)
        yield* sql`DELETE FROM messages WHERE sid IN (${messageSid(2)}, ${messageSid(6)})`
        expect(yield* search("parcel")).toHaveLength(4)
        yield* sql`INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)`
      }).pipe(Effect.provide(TestLayer({ databasePath: filename })))
    }))
})
