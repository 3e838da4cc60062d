import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import { storageError } from "./Database.js"
import type { StorageError } from "./domain/Errors.js"
import { Sqlite } from "./Sqlite.js"

/** Rows per indexing write: 1–2 ms of work, short enough not to hold up the webhooks queued behind it. */
const CHUNK = 500
/** How long after a message is stored its body is indexed in the background (a search does not wait for it). */
export const INDEX_DELAY = Duration.seconds(1)

/**
 * The full-text index of message bodies, filled in bulk (see migration 0004): shortly after messages are
 * stored, in chunks, and before every search, so a search always covers every stored message. Nothing
 * runs while no message arrives.
 */
export class SearchIndex extends Effect.Service<SearchIndex>()("twilio-mcp/SearchIndex", {
  scoped: Effect.gen(function*() {
    const sqlite = yield* Sqlite
    const sql = yield* SqlClient.SqlClient
    const { db } = sqlite
    const indexedUpTo = db.prepare("SELECT id FROM search_indexed").pluck()
    const chunkEnd = db.prepare("SELECT MAX(id) FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)").pluck()
    const index = db.prepare("INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE id > ? AND id <= ?")
    const advance = db.prepare("UPDATE search_indexed SET id = ?")

    /** Indexes the next chunk; false when there was nothing left. */
    const indexChunk = () => {
      const from = indexedUpTo.get() as number
      const to = chunkEnd.get(from, CHUNK) as number | null
      if (to === null) return false
      index.run(from, to)
      advance.run(to)
      return true
    }

    /** Completes once every message stored so far is searchable. One chunk per write, each its own batch. */
    const catchUp: Effect.Effect<void, StorageError> = Effect.flatMap(
      sql<{ behind: number }>`SELECT (SELECT COALESCE(MAX(id), 0) FROM messages) > (SELECT id FROM search_indexed) AS behind`.pipe(
        Effect.map((rows) => rows[0]?.behind === 1),
        Effect.mapError(storageError("check the search index"))
      ),
      (behind) =>
        behind
          ? Effect.flatMap(sqlite.write("index messages for search", indexChunk), (more) => (more ? catchUp : Effect.void))
          : Effect.void
    )

    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    let scheduled: Fiber.RuntimeFiber<void> | undefined
    /** Cleared as it starts: a message stored while it runs schedules the next run. */
    const background = Effect.delay(
      Effect.zipRight(
        Effect.sync(() => (scheduled = undefined)),
        catchUp.pipe(Effect.catchAll((e) => Effect.logWarning(`search index not updated: ${e.message}`)))
      ),
      INDEX_DELAY
    )
    yield* Effect.addFinalizer(() => Effect.suspend(() => (scheduled === undefined ? Effect.void : Fiber.interrupt(scheduled))))

    /** Called when a message is stored: indexes it (and whatever arrives meanwhile) a moment later. */
    const soon = () => {
      scheduled ??= runFork(background)
    }

    return { catchUp, soon } as const
  })
}) {}
