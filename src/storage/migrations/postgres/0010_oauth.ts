import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** PostgreSQL's twin of ../0010_oauth.ts: the built-in authorization server's records, times as epoch ms. */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE oauth_records (
      model TEXT NOT NULL,
      id TEXT NOT NULL,
      payload TEXT NOT NULL,
      grant_id TEXT,
      uid TEXT,
      expires_at BIGINT,
      consumed_at BIGINT,
      PRIMARY KEY (model, id)
    )`
  yield* sql`CREATE INDEX oauth_records_grant ON oauth_records (grant_id) WHERE grant_id IS NOT NULL`
  yield* sql`CREATE INDEX oauth_records_uid ON oauth_records (uid) WHERE uid IS NOT NULL`
  yield* sql`CREATE INDEX oauth_records_expiry ON oauth_records (expires_at) WHERE expires_at IS NOT NULL`
})
