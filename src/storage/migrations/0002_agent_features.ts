import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** Opt-outs, send idempotency keys, and full-text search over message bodies. */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // One row per (recipient, sender): STOP/START from the recipient, or Twilio's 21610 on a send.
  yield* sql`
    CREATE TABLE opt_outs (
      recipient TEXT NOT NULL,
      sender TEXT NOT NULL,
      opted_out INTEGER NOT NULL,
      source TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (recipient, sender)
    )`
  // A send's idempotency key is reserved before Twilio is called, so two calls with one key never both send.
  yield* sql`
    CREATE TABLE send_keys (
      key TEXT PRIMARY KEY NOT NULL,
      result TEXT,
      created_at TEXT NOT NULL
    )`
  yield* sql`CREATE VIRTUAL TABLE messages_fts USING fts5 (body, content = 'messages', content_rowid = 'id')`
  yield* sql`INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages`
  yield* sql`
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
      INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END`
  yield* sql`
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
      INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END`
  yield* sql`
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
      INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
      INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END`
})
