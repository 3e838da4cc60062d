import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * The built-in OAuth authorization server's records (MCP_OAUTH_BUILTIN): oidc-provider's registered clients,
 * grants, codes, refresh tokens, sessions and interactions, and its signing and cookie keys, each a JSON
 * payload under (model, id), so a restart logs no client out. `grant_id` finds a grant's tokens to revoke them,
 * `uid` a session; `expires_at` (epoch ms) is when a record stops being found.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE oauth_records (
      model TEXT NOT NULL,
      id TEXT NOT NULL,
      payload TEXT NOT NULL,
      grant_id TEXT,
      uid TEXT,
      expires_at INTEGER,
      consumed_at INTEGER,
      PRIMARY KEY (model, id)
    )`
  yield* sql`CREATE INDEX oauth_records_grant ON oauth_records (grant_id) WHERE grant_id IS NOT NULL`
  yield* sql`CREATE INDEX oauth_records_uid ON oauth_records (uid) WHERE uid IS NOT NULL`
  yield* sql`CREATE INDEX oauth_records_expiry ON oauth_records (expires_at) WHERE expires_at IS NOT NULL`
})
