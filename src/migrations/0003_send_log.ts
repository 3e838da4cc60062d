import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * One row per send attempt, written before Twilio is called: the hourly cap counts these inside the same
 * write transaction, so concurrent sends (in one process or several) cannot pass the cap together.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE send_log (id INTEGER PRIMARY KEY, sent_at TEXT NOT NULL)`
  yield* sql`CREATE INDEX send_log_sent_at ON send_log (sent_at)`
})
