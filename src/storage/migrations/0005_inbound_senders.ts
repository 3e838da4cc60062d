import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * Inbound messages by sender are found through the threads the sender has written in, no longer through an
 * index of their own. That index took each inbound message at a random place (as the thread index and the
 * SID index do): a page written to the WAL, and again at checkpoint, per message, ~15 % of a webhook's
 * cost. `inbound_senders` holds each (sender, thread) pair once, kept by a trigger whichever process or
 * code path stores the message: for a pair already there (all but a thread's first inbound message) the
 * trigger only looks it up. Messages stored without a thread (auto-creation off) get a partial index,
 * empty while auto-creation is on.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE inbound_senders (
      from_address TEXT NOT NULL,
      conversation_id TEXT NOT NULL REFERENCES conversations (id),
      PRIMARY KEY (from_address, conversation_id)
    ) WITHOUT ROWID`
  yield* sql`
    INSERT OR IGNORE INTO inbound_senders (from_address, conversation_id)
    SELECT DISTINCT from_address, conversation_id FROM messages WHERE direction = 'inbound' AND conversation_id IS NOT NULL`
  yield* sql`
    CREATE TRIGGER messages_inbound_sender AFTER INSERT ON messages
    WHEN new.direction = 'inbound' AND new.conversation_id IS NOT NULL BEGIN
      INSERT OR IGNORE INTO inbound_senders (from_address, conversation_id) VALUES (new.from_address, new.conversation_id);
    END`
  yield* sql`DROP INDEX IF EXISTS messages_direction_from`
  yield* sql`CREATE INDEX messages_unthreaded_from ON messages (from_address, created_at, id) WHERE conversation_id IS NULL`
})
