import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * PostgreSQL's twin of ../0005_inbound_senders.ts: inbound messages by sender are found through the threads
 * the sender has written in (`inbound_senders`, kept by a trigger, here once per statement over the batch's
 * rows), and unthreaded ones through a partial index.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`
    CREATE TABLE inbound_senders (
      from_address TEXT COLLATE "C" NOT NULL,
      conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
      PRIMARY KEY (from_address, conversation_id)
    )`)
  yield* sql`
    INSERT INTO inbound_senders (from_address, conversation_id)
    SELECT DISTINCT from_address, conversation_id FROM messages WHERE direction = 'inbound' AND conversation_id IS NOT NULL
    ON CONFLICT DO NOTHING`
  yield* sql.unsafe(`
    CREATE FUNCTION messages_inbound_senders() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO inbound_senders (from_address, conversation_id)
      SELECT DISTINCT from_address, conversation_id FROM inserted WHERE direction = 'inbound' AND conversation_id IS NOT NULL
      ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$`)
  yield* sql.unsafe(`
    CREATE TRIGGER messages_inbound_senders AFTER INSERT ON messages
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION messages_inbound_senders()`)
  yield* sql`DROP INDEX IF EXISTS messages_direction_from`
  yield* sql`CREATE INDEX messages_unthreaded_from ON messages (from_address, created_at, id) WHERE conversation_id IS NULL`
})
