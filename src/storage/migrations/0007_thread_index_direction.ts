import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * The thread index carries each message's direction, so counting a thread's unread inbound messages
 * (list_conversations, for every thread of the page) reads the index alone: without it, every message of the
 * thread was fetched from the table to see its direction, ~2,000 random page reads for a page of 20 threads
 * on a large store. Same number of index entries per message, so storing costs no more.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP INDEX messages_conversation`
  yield* sql`CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id, direction)`
})
