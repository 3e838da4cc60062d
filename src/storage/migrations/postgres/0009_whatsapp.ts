import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * PostgreSQL's twin of ../0009_whatsapp.ts: a thread's channel generated from its participant key (stored, as
 * PostgreSQL generates columns), indexed with its activity; an inbound WhatsApp message's profile name.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`
    ALTER TABLE conversations ADD COLUMN channel TEXT GENERATED ALWAYS AS (
      CASE WHEN strpos('|' || participant_key, '|whatsapp:') > 0 THEN 'whatsapp' ELSE 'sms' END) STORED`)
  yield* sql`CREATE INDEX conversations_channel_activity ON conversations (channel, last_activity_at, id)`
  yield* sql`ALTER TABLE messages ADD COLUMN profile_name TEXT`
  yield* sql`
    UPDATE messages SET profile_name = extra::jsonb ->> 'ProfileName'
    WHERE direction = 'inbound' AND from_address LIKE 'whatsapp:%' AND extra IS NOT NULL`
})
