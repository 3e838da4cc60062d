import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * Fetching from Twilio instead of webhooks (issue 21), shared by every process on the database: until when to
 * fetch at the fast cadence (a wait_for_reply's heartbeat, a send), when the last fetch ended (a read tool
 * fetches first when it is old), and SQLite's leases: which process runs a task only one may run (the
 * fetcher, catch-up), until when unless it renews. PostgreSQL's leases are advisory locks (no table).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE inbound_fetch (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      fast_until INTEGER NOT NULL DEFAULT 0,
      fetched_at INTEGER NOT NULL DEFAULT 0
    )`
  yield* sql`
    CREATE TABLE leases (
      task TEXT PRIMARY KEY,
      holder TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    )`
})
