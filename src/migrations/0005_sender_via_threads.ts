import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * Inbound messages by sender are found through the sender's threads, no longer through an index of their
 * own. That index was one of the two an inbound message is inserted into at a random place (with the
 * thread's): each costs a page write per message, ~15 % of a webhook's cost. An inbound message is always
 * in the thread of its sender and the number it was sent to, or in no thread (auto-creation off): the
 * threads come from `conversation_participants`, filled once per thread, and the unthreaded ones from a
 * partial index that stays empty while auto-creation is on.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE conversation_participants (
      address TEXT NOT NULL,
      conversation_id TEXT NOT NULL REFERENCES conversations (id),
      PRIMARY KEY (address, conversation_id)
    ) WITHOUT ROWID`
  yield* sql`
    INSERT OR IGNORE INTO conversation_participants (address, conversation_id)
    SELECT p.value, c.id FROM conversations c, json_each(c.participants) p`
  // Every way a thread is created (any process, any version from now on) lists its participants.
  yield* sql`
    CREATE TRIGGER conversations_participants AFTER INSERT ON conversations BEGIN
      INSERT OR IGNORE INTO conversation_participants (address, conversation_id)
      SELECT p.value, new.id FROM json_each(new.participants) p;
    END`
  yield* sql`DROP INDEX messages_direction_from`
  yield* sql`CREATE INDEX messages_unthreaded_from ON messages (from_address, created_at, id) WHERE conversation_id IS NULL`
})
