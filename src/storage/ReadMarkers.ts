import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { storageError } from "./Database.js"
import { jsonTable } from "./Dialect.js"
import type { ReadMark } from "./MessageRows.js"
import { SqlLive } from "./Sql.js"

const Marks = Schema.parseJson(Schema.Array(Schema.Struct({ scope: Schema.String, message_id: Schema.Number, at: Schema.String })))

/**
 * How far each thread has been read (migration 0006): the highest inbound message id a model was shown by
 * wait_for_reply or get_conversation_thread. In the database, so every process sharing it sees the same.
 */
export class ReadMarkers extends Effect.Service<ReadMarkers>()("twilio-mcp/ReadMarkers", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const upsert = SqlSchema.void({
      Request: Marks,
      execute: (json) =>
        sql`
          INSERT INTO read_markers (scope, message_id, updated_at)
          SELECT scope, message_id, at FROM ${jsonTable(sql, json, "r", { scope: "text", message_id: "bigint", at: "text" })} WHERE true
          ON CONFLICT (scope) DO UPDATE SET
            message_id = CASE WHEN excluded.message_id > read_markers.message_id THEN excluded.message_id ELSE read_markers.message_id END,
            updated_at = excluded.updated_at`
    })

    /** Moves each mark forward (never back: two processes reading at once keep the further one). */
    const advance = (marks: ReadonlyArray<ReadMark>, at: string) =>
      marks.length === 0 ? Effect.void : upsert(marks.map((m) => ({ scope: m.scope, message_id: m.messageId, at }))).pipe(Effect.mapError(storageError("mark messages read")))

    return { advance } as const
  }),
  dependencies: [SqlLive]
}) {}
