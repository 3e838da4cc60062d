import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * One row per send, written before Twilio is called. The hourly cap counts these inside the same write
 * transaction, so concurrent sends (in one process or several) cannot pass the cap together. The row holds
 * the body until the message is stored: a database too full to take the message fails here, before
 * anything is sent, and clearing the body frees that room for the message row.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE send_log (id INTEGER PRIMARY KEY, sent_at TEXT NOT NULL, body TEXT)`
  yield* sql`CREATE INDEX send_log_sent_at ON send_log (sent_at)`
})
