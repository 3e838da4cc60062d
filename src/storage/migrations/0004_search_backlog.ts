import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * Message bodies enter the full-text index in bulk (SearchIndex.ts), no longer one by one from a trigger:
 * indexed per message, FTS5 writes a segment per transaction, ~55 µs of a webhook's ~110 µs of SQLite
 * work; in chunks of hundreds it is ~4 µs a row. `search_indexed` holds the highest messages.id indexed.
 * Deleting or editing a message touches the index only for rows already in it.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP TRIGGER messages_fts_insert`
  yield* sql`CREATE TABLE search_indexed (id INTEGER NOT NULL)`
  yield* sql`INSERT INTO search_indexed SELECT COALESCE(MAX(id), 0) FROM messages`
  // A row that takes an id at or below the mark (ids of deleted newest rows are reused) is indexed at once:
  // the bulk indexer only looks above it.
  yield* sql`
    CREATE TRIGGER messages_fts_reused_id AFTER INSERT ON messages
    WHEN new.id <= (SELECT id FROM search_indexed) BEGIN
      INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END`
  yield* sql`DROP TRIGGER messages_fts_delete`
  yield* sql`
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.id <= (SELECT id FROM search_indexed) BEGIN
      INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END`
  yield* sql`DROP TRIGGER messages_fts_update`
  yield* sql`
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages
    WHEN old.id <= (SELECT id FROM search_indexed) BEGIN
      INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
      INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END`
})
