import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * WhatsApp (issue 23). A thread's channel is derived from its participant key, in which a WhatsApp participant
 * is `whatsapp:+…` (so an SMS thread and a WhatsApp thread with one number have different keys): a generated
 * column, right whichever process or release wrote the row, with an index to list one channel's threads by
 * activity. An inbound WhatsApp message keeps the sender's profile name (Twilio's `ProfileName`) in a column of
 * its own, backfilled from the parameters kept so far.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    ALTER TABLE conversations ADD COLUMN channel TEXT GENERATED ALWAYS AS (
      CASE WHEN instr('|' || participant_key, '|whatsapp:') > 0 THEN 'whatsapp' ELSE 'sms' END) VIRTUAL`
  yield* sql`CREATE INDEX conversations_channel_activity ON conversations (channel, last_activity_at, id)`
  yield* sql`ALTER TABLE messages ADD COLUMN profile_name TEXT`
  yield* sql`
    UPDATE messages SET profile_name = json_extract(extra, '$.ProfileName')
    WHERE direction = 'inbound' AND from_address LIKE 'whatsapp:%' AND json_valid(extra)`
})
