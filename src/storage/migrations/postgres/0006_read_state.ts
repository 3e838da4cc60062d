import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * PostgreSQL's twin of ../0006_read_state.ts: read markers, Twilio's error text, an idempotency key's request.
 * Plus an index for list_conversations' unread counts (inbound messages of a thread past its marker): where
 * SQLite reads a thread's rows in its own page cache in ~1 ms, PostgreSQL fetched each from the heap (~1 ms a
 * thread on the bench store, 20 threads a page); from this index it counts without the table.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`
    CREATE TABLE read_markers (
      scope TEXT COLLATE "C" PRIMARY KEY,
      message_id BIGINT NOT NULL,
      updated_at TEXT COLLATE "C" NOT NULL
    )`)
  yield* sql`ALTER TABLE messages ADD COLUMN error_message TEXT`
  yield* sql`ALTER TABLE message_events ADD COLUMN error_message TEXT`
  yield* sql`ALTER TABLE send_keys ADD COLUMN request TEXT`
  yield* sql`CREATE INDEX messages_inbound_by_thread ON messages (conversation_id, id) WHERE direction = 'inbound'`
})
