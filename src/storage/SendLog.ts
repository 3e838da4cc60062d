import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { storageError } from "./Database.js"
import { SqlLive } from "./Sql.js"

/**
 * One row per send, written before Twilio is called (migration 0003): what the hourly cap counts, across
 * every process sharing the database. The row holds the body until the message is stored, so a database
 * too full to take the message refuses the send first. The only place that knows the send_log table.
 */
export class SendLog extends Effect.Service<SendLog>()("twilio-mcp/SendLog", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const countSince = (since: string) =>
      sql<{ n: number }>`SELECT COUNT(*) AS n FROM send_log WHERE sent_at >= ${since}`.pipe(
        Effect.map((rows) => rows[0]?.n ?? 0),
        Effect.mapError(storageError("count sent messages"))
      )

    /**
     * A slot for a send about to happen; its id. The body is only held for its size: a NUL in it is kept as
     * U+FFFD, which PostgreSQL's text can hold (as the message row itself stores it there, see Dialect.ts).
     */
    const reserve = (now: string, body: string) =>
      sql<{ id: number }>`INSERT INTO send_log (sent_at, body) VALUES (${now}, ${body.replaceAll("\u0000", "\ufffd")}) RETURNING id`.pipe(
        Effect.map((rows) => rows[0]!.id),
        Effect.mapError(storageError("reserve the send"))
      )

    /** Gives the slot back: Twilio clearly refused, nothing was sent. */
    const release = (id: number) => sql`DELETE FROM send_log WHERE id = ${id}`.pipe(Effect.ignore)

    /** The message is stored: the body's room is no longer needed. */
    const settle = (id: number) =>
      sql`UPDATE send_log SET body = NULL WHERE id = ${id}`.pipe(Effect.asVoid, Effect.mapError(storageError("settle the send")))

    return { countSince, reserve, release, settle } as const
  }),
  dependencies: [SqlLive]
}) {}
