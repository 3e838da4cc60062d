import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { storageError } from "./Database.js"
import { jsonTable } from "./Dialect.js"
import { SqlLive } from "./Sql.js"

export const OptOutChange = Schema.Literal("opt-out", "opt-in")
export type OptOutChange = typeof OptOutChange.Type

const OptOutRecord = Schema.Struct({
  recipient: Schema.String,
  sender: Schema.String,
  change: OptOutChange,
  source: Schema.String,
  at: Schema.String
})
export type OptOutRecord = typeof OptOutRecord.Type

/**
 * Who has opted out of messages from which of our senders: one row per (recipient, sender), set by inbound
 * STOP/START and by Twilio's 21610 on a send. The only place that knows the opt_outs table.
 */
export class OptOuts extends Effect.Service<OptOuts>()("twilio-mcp/OptOuts", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const upsert = SqlSchema.void({
      Request: Schema.parseJson(Schema.Array(OptOutRecord)),
      execute: (json) =>
        sql`
          INSERT INTO opt_outs (recipient, sender, opted_out, source, updated_at)
          SELECT recipient, sender, CASE WHEN change = 'opt-out' THEN 1 ELSE 0 END, source, at
          FROM ${jsonTable(sql, json, "o", { recipient: "text", sender: "text", change: "text", source: "text", at: "text" })} WHERE true
          ON CONFLICT (recipient, sender) DO UPDATE SET
            opted_out = excluded.opted_out, source = excluded.source, updated_at = excluded.updated_at`
    })

    /** Records the changes; for one (recipient, sender) the last one wins. */
    const record = (changes: ReadonlyArray<OptOutRecord>) => {
      const last = new Map(changes.map((c) => [`${c.recipient} ${c.sender}`, c]))
      return last.size === 0 ? Effect.void : upsert(Array.from(last.values())).pipe(Effect.mapError(storageError("record opt-out")))
    }

    /** When `recipient` opted out of `sender`, if they have and not opted back in. */
    const optedOutSince = (recipient: string, sender: string) =>
      sql<{ updated_at: string }>`
        SELECT updated_at FROM opt_outs WHERE recipient = ${recipient} AND sender = ${sender} AND opted_out = 1`.pipe(
        Effect.map((rows) => rows[0]?.updated_at),
        Effect.mapError(storageError("check opt-out"))
      )

    /** Of these addresses, the ones opted out of any sender among them. */
    const optedOutAmong = (participants: ReadonlyArray<string>) =>
      sql<{ recipient: string }>`
        SELECT DISTINCT recipient FROM opt_outs
        WHERE opted_out = 1 AND ${sql.in("recipient", participants)} AND ${sql.in("sender", participants)}`.pipe(
        Effect.map((rows) => rows.map((r) => r.recipient)),
        Effect.mapError(storageError("check opt-outs"))
      )

    return { record, optedOutSince, optedOutAmong } as const
  }),
  dependencies: [SqlLive]
}) {}
