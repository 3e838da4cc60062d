import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import { StorageError } from "../domain/Errors.js"
import { storageError } from "./Database.js"
import { type ColumnType, jsonTable } from "./Dialect.js"
import { Engine } from "./Engine.js"
import { insertColumns } from "./MessageStore.js"
import { postgresLayer } from "./Postgres.js"
import { sqliteLayer } from "./Sqlite.js"

/** Rows per statement: one JSON parameter of a few MB at most, one transaction each. */
const CHUNK = 2_000

/**
 * A table as copied: its columns (with PostgreSQL's types), the SQLite rows read in chunks after `after`, and
 * the PostgreSQL statement that takes a chunk and says how many rows were new.
 */
interface Copy {
  readonly table: string
  readonly columns: Readonly<Record<string, ColumnType>>
  /** The SQLite query of a chunk: rows with rowid > `after`, in rowid order, with their rowid as `rowid_`. */
  readonly read: (sql: SqlClient.SqlClient, after: number) => Effect.Effect<ReadonlyArray<Record<string, unknown>>, unknown>
  /** The PostgreSQL statement over a chunk, given as table `x` (see `jsonTable`): RETURNING whether each row was new. */
  readonly write: (sql: SqlClient.SqlClient, x: Statement.Fragment) => Effect.Effect<ReadonlyArray<unknown>, unknown>
}

// A message is copied with the columns the server stores, its thread found by participants: PostgreSQL may
// already hold that thread under another id.
const { conversation_id: _conversationId, ...storedColumns } = insertColumns
const messageColumns = { ...storedColumns, participant_key: "text" } as const

const columnList = (columns: Readonly<Record<string, ColumnType>>, except: ReadonlyArray<string> = []) =>
  Object.keys(columns).filter((c) => !except.includes(c)).join(", ")

const chunkAfter = (table: string, select: string, from: string) => (sql: SqlClient.SqlClient, after: number) =>
  sql.unsafe<Record<string, unknown>>(
    `SELECT ${table}.rowid AS rowid_, ${select} FROM ${from} WHERE ${table}.rowid > ? ORDER BY ${table}.rowid LIMIT ${CHUNK}`,
    [after]
  )

/**
 * What is copied, in this order (threads before their messages), and how. Re-running is safe: rows already
 * there are skipped by their keys. Message ids are the target's own (kept in SQLite's order), a message joins
 * the target's thread for its participant set (one made there already keeps its id), and `inbound_senders`
 * is filled by the target's trigger; read markers find their message by SID. Only the last hour of `send_log`
 * matters (the hourly cap).
 */
const copies: ReadonlyArray<Copy> = [
  {
    table: "conversations",
    columns: { id: "text", participant_key: "text", participants: "text", metadata: "text", created_at: "text", last_activity_at: "text" },
    read: chunkAfter("conversations", "*", "conversations"),
    write: (sql, x) =>
      sql`
        INSERT INTO conversations (id, participant_key, participants, metadata, created_at, last_activity_at)
        SELECT id, participant_key, participants, metadata, created_at, last_activity_at
        FROM ${x}
        ON CONFLICT (participant_key) DO UPDATE SET
          last_activity_at = GREATEST(conversations.last_activity_at, excluded.last_activity_at),
          metadata = COALESCE(conversations.metadata, excluded.metadata)
        RETURNING (xmax = 0) AS inserted`
  },
  {
    table: "messages",
    columns: messageColumns,
    read: chunkAfter(
      "messages",
      `messages.*, conversations.participant_key AS participant_key`,
      "messages LEFT JOIN conversations ON conversations.id = messages.conversation_id"
    ),
    write: (sql, x) =>
      sql`
        INSERT INTO messages (conversation_id, ${sql.literal(columnList(messageColumns, ["participant_key"]))})
        SELECT (SELECT id FROM conversations WHERE conversations.participant_key = x.participant_key),
          ${sql.literal(columnList(messageColumns, ["participant_key"]))}
        FROM ${x}
        ON CONFLICT (sid) DO NOTHING
        RETURNING true AS inserted`
  },
  {
    table: "message_events",
    columns: { message_sid: "text", status: "text", status_rank: "integer", error_code: "integer", error_message: "text", received_at: "text" },
    read: chunkAfter("message_events", "*", "message_events"),
    write: (sql, x) =>
      sql`
        INSERT INTO message_events (message_sid, status, status_rank, error_code, error_message, received_at)
        SELECT message_sid, status, status_rank, error_code, error_message, received_at FROM ${x}
        ON CONFLICT DO NOTHING
        RETURNING true AS inserted`
  },
  {
    table: "opt_outs",
    columns: { recipient: "text", sender: "text", opted_out: "integer", source: "text", updated_at: "text" },
    read: chunkAfter("opt_outs", "*", "opt_outs"),
    // The newer of the two records wins: the target may have seen a later STOP or START.
    write: (sql, x) =>
      sql`
        INSERT INTO opt_outs (recipient, sender, opted_out, source, updated_at)
        SELECT recipient, sender, opted_out, source, updated_at FROM ${x}
        ON CONFLICT (recipient, sender) DO UPDATE SET
          opted_out = excluded.opted_out, source = excluded.source, updated_at = excluded.updated_at
        WHERE opt_outs.updated_at < excluded.updated_at
        RETURNING (xmax = 0) AS inserted`
  },
  {
    table: "send_keys",
    columns: { key: "text", result: "text", created_at: "text", request: "text" },
    read: chunkAfter("send_keys", "*", "send_keys"),
    write: (sql, x) =>
      sql`
        INSERT INTO send_keys (key, result, created_at, request)
        SELECT key, result, created_at, request FROM ${x}
        ON CONFLICT DO NOTHING
        RETURNING true AS inserted`
  },
  {
    // A marker names a message by id, and ids are the target's own: found again by SID. Its scope is that
    // message's thread there (or sender), which may be a thread the target had already.
    table: "read_markers",
    columns: { message_sid: "text", updated_at: "text" },
    read: chunkAfter(
      "read_markers",
      "messages.sid AS message_sid, read_markers.updated_at AS updated_at",
      "read_markers JOIN messages ON messages.id = read_markers.message_id"
    ),
    write: (sql, x) =>
      sql`
        INSERT INTO read_markers (scope, message_id, updated_at)
        SELECT COALESCE(m.conversation_id, 'from:' || m.from_address), m.id, x.updated_at
        FROM ${x} JOIN messages m ON m.sid = x.message_sid
        ON CONFLICT (scope) DO UPDATE SET message_id = excluded.message_id, updated_at = excluded.updated_at
        WHERE read_markers.message_id < excluded.message_id
        RETURNING (xmax = 0) AS inserted`
  },
  {
    table: "send_log",
    columns: { sent_at: "text", body: "text" },
    read: (sql, after) =>
      sql.unsafe<Record<string, unknown>>(
        `SELECT rowid AS rowid_, sent_at, body FROM send_log WHERE rowid > ? AND sent_at >= ? ORDER BY rowid LIMIT ${CHUNK}`,
        [after, new Date(Date.now() - 3_600_000).toISOString()]
      ),
    write: (sql, x) =>
      sql`
        INSERT INTO send_log (sent_at, body)
        SELECT sent_at, body FROM ${x}
        WHERE NOT EXISTS (SELECT 1 FROM send_log WHERE send_log.sent_at = x.sent_at)
        RETURNING true AS inserted`
  }
]

export interface TableCopied {
  readonly table: string
  readonly read: number
  readonly inserted: number
}

/**
 * Copies the SQLite database at `path` into the PostgreSQL database at `url` (migrated first), table by table
 * in chunks, each chunk one transaction. `onProgress` hears each table's totals. The SQLite file is brought
 * up to date first (as any start of the server would) and otherwise only read.
 */
export const migrateToPostgres = (path: string, url: Redacted.Redacted<string>, onProgress: (copied: TableCopied) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    if (path === ":memory:" || !fs.existsSync(path)) {
      return yield* new StorageError({ operation: "migrate to PostgreSQL", detail: `DATABASE_PATH ${path} does not exist: nothing to copy` })
    }
    const source = yield* Layer.build(sqliteLayer(path)).pipe(Effect.map((context) => Context.get(context, SqlClient.SqlClient)))
    const postgres = yield* Layer.build(postgresLayer(url))
    const target = Context.get(postgres, SqlClient.SqlClient)
    // Each chunk under the write lock, as the server writes: ids follow commit order even beside running replicas.
    const { writeTransaction } = Context.get(postgres, Engine)
    const totals: Array<TableCopied> = []
    for (const copy of copies) {
      let after = 0
      let read = 0
      let inserted = 0
      while (true) {
        const rows = yield* copy.read(source, after).pipe(Effect.mapError(storageError(`read ${copy.table} from SQLite`)))
        if (rows.length === 0) break
        after = Number(rows[rows.length - 1]!.rowid_)
        read += rows.length
        const json = JSON.stringify(rows.map((row) => Object.fromEntries(Object.keys(copy.columns).map((c) => [c, row[c] ?? null]))))
        const written = yield* writeTransaction(copy.write(target, jsonTable(target, json, "x", copy.columns))).pipe(
          Effect.mapError(storageError(`write ${copy.table} to PostgreSQL`))
        )
        inserted += written.filter((r) => (r as { inserted: boolean }).inserted).length
      }
      const copied = { table: copy.table, read, inserted }
      totals.push(copied)
      yield* onProgress(copied)
    }
    // The planner's statistics, for tables that just grew by a bulk load: autovacuum would get there later.
    yield* target`ANALYZE`.pipe(Effect.mapError(storageError("analyze PostgreSQL")))
    return totals
  }).pipe(Effect.scoped)
