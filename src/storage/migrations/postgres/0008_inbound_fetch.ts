import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** PostgreSQL's twin of ../0008_inbound_fetch.ts: the fetch state (times in ms); leases are advisory locks here. */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE inbound_fetch (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      fast_until BIGINT NOT NULL DEFAULT 0,
      fetched_at BIGINT NOT NULL DEFAULT 0
    )`
})
