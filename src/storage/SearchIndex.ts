import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberHandle from "effect/FiberHandle"
import type { StorageError } from "../domain/Errors.js"
import { Database, storageError } from "./Database.js"
import { SqlLive } from "./Sql.js"

/** Rows per indexing write: 1–2 ms of work, short enough not to hold up the webhooks queued behind it. */
const CHUNK = 500
/** How long after a message is stored its body is indexed in the background (a search does not wait for it). */
export const INDEX_DELAY = Duration.seconds(1)

/**
 * SQLite's full-text index of message bodies, filled in bulk (see migration 0004): shortly after messages are
 * stored, in chunks, and before every search, so a search always covers every stored message. Nothing
 * runs while no message arrives.
 */
export class SearchIndex extends Effect.Service<SearchIndex>()("twilio-mcp/SearchIndex", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const database = yield* Database
    // PostgreSQL computes its tsvector column with each row (migration 0002): nothing is ever behind.
    if (sql.onDialectOrElse({ pg: () => true, orElse: () => false })) {
      return { catchUp: Effect.void as Effect.Effect<void, StorageError>, soon: Effect.void }
    }

    /** Indexes the next chunk; false when there was nothing left. */
    const indexChunk = Effect.gen(function*() {
      const [mark] = yield* sql<{ id: number }>`SELECT id FROM search_indexed`
      const from = mark?.id ?? 0
      const [chunk] = yield* sql<{ end: number | null }>`
        SELECT MAX(id) AS end FROM (SELECT id FROM messages WHERE id > ${from} ORDER BY id LIMIT ${CHUNK})`
      const end = chunk?.end ?? null
      if (end === null) return false
      yield* sql`INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE id > ${from} AND id <= ${end}`
      yield* sql`UPDATE search_indexed SET id = ${end}`
      return true
    }).pipe(Effect.mapError(storageError("index messages for search")))

    const behind = sql<{ behind: number }>`
      SELECT (SELECT COALESCE(MAX(id), 0) FROM messages) > (SELECT id FROM search_indexed) AS behind`.pipe(
      Effect.map((rows) => rows[0]?.behind === 1),
      Effect.mapError(storageError("check the search index"))
    )

    /** Completes once every message stored so far is searchable. One chunk per transaction. */
    const catchUp: Effect.Effect<void, StorageError> = Effect.flatMap(behind, (late) =>
      late ? Effect.flatMap(database.writeTransaction(indexChunk), (more) => (more ? catchUp : Effect.void)) : Effect.void)

    // A runtime of its own: `soon` is called inside the transaction that stores a message, and a fiber forked
    // from there would inherit that (by then committed) transaction's connection.
    const run = yield* FiberHandle.makeRuntime<never>()
    const background = Effect.delay(
      catchUp.pipe(Effect.catchAll((e) => Effect.logWarning(`search index not updated: ${e.message}`))),
      INDEX_DELAY
    )

    /** Called when messages are stored: indexes them (and whatever arrives meanwhile) a moment later. */
    const soon = Effect.sync(() => void run(background, { onlyIfMissing: true }))

    return { catchUp, soon }
  }),
  dependencies: [SqlLive, Database.Default]
}) {}
