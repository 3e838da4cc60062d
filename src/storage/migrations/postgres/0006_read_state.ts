import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** PostgreSQL's twin of ../0006_read_state.ts: read markers, Twilio's error text, an idempotency key's request. */
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
})
