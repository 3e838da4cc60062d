import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * What a model has been shown, and what Twilio said:
 * - `read_markers`: per thread (or, for messages stored without one, per sender: `from:<address>`), the
 *   highest message id wait_for_reply or get_conversation_thread has returned. Shared by every process on
 *   the database, so a second wait never returns the same reply.
 * - `error_message`: Twilio's own text for a failed message, when a callback or a fetch carried one.
 * - `send_keys.request`: what was sent with an idempotency key, so the key cannot be reused for another message.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE read_markers (
      scope TEXT PRIMARY KEY NOT NULL,
      message_id INTEGER NOT NULL,
      updated_at TEXT NOT NULL
    )`
  yield* sql`ALTER TABLE messages ADD COLUMN error_message TEXT`
  yield* sql`ALTER TABLE message_events ADD COLUMN error_message TEXT`
  yield* sql`ALTER TABLE send_keys ADD COLUMN request TEXT`
})
