import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * Conversations, messages and status events. Times are ISO-8601 UTC text (sortable, portable); JSON
 * columns are text. Statuses carry their rank so "only move forward" is one indexed comparison.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE conversations (
      id TEXT PRIMARY KEY NOT NULL,
      participant_key TEXT NOT NULL UNIQUE,
      participants TEXT NOT NULL,
      metadata TEXT,
      created_at TEXT NOT NULL,
      last_activity_at TEXT NOT NULL
    )`
  yield* sql`CREATE INDEX conversations_last_activity ON conversations (last_activity_at)`
  yield* sql`
    CREATE TABLE messages (
      id INTEGER PRIMARY KEY,
      sid TEXT NOT NULL UNIQUE,
      conversation_id TEXT REFERENCES conversations (id),
      direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
      from_address TEXT NOT NULL,
      to_address TEXT NOT NULL,
      body TEXT NOT NULL,
      status TEXT NOT NULL,
      status_rank INTEGER NOT NULL,
      error_code INTEGER,
      num_segments INTEGER,
      num_media INTEGER NOT NULL DEFAULT 0,
      media TEXT,
      messaging_service_sid TEXT,
      extra TEXT,
      twilio_created_at TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`
  yield* sql`CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id)`
  yield* sql`CREATE INDEX messages_direction ON messages (direction, created_at, id)`
  yield* sql`CREATE INDEX messages_direction_from ON messages (direction, from_address, created_at, id)`
  yield* sql`CREATE INDEX messages_direction_to ON messages (direction, to_address, created_at, id)`
  // One row per (SID, status): Twilio retries and duplicates collapse. No foreign key to messages on
  // purpose: a callback can beat the send's own insert and must be kept until the message row exists.
  yield* sql`
    CREATE TABLE message_events (
      message_sid TEXT NOT NULL,
      status TEXT NOT NULL,
      status_rank INTEGER NOT NULL,
      error_code INTEGER,
      received_at TEXT NOT NULL,
      PRIMARY KEY (message_sid, status)
    )`
})
