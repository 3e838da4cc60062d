import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * PostgreSQL's twin of ../0007_thread_index_direction.ts: the thread index carries the direction, so a thread's
 * unread inbound messages are counted from the index alone (an index-only scan once the visibility map is set),
 * not from every row of the thread fetched from the table.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP INDEX messages_conversation`
  yield* sql`CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id, direction)`
})
