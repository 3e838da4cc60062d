import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { attempt, storageError } from "./Database.js"
import { Sqlite } from "./Sqlite.js"

const STOP = new Set(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
const START = new Set(["START", "YES", "UNSTOP"])

export type OptOutChange = "opt-out" | "opt-in"

/**
 * What an inbound message does to the sender's opt-out state. Twilio acts only on single-word messages, in
 * any case; its `OptOutType` parameter, when present, is authoritative.
 */
export const classifyOptOut = (body: string, optOutType?: string): OptOutChange | undefined => {
  const type = optOutType?.trim().toUpperCase()
  if (type === "STOP") return "opt-out"
  if (type === "START") return "opt-in"
  const word = body.trim().toUpperCase()
  return STOP.has(word) ? "opt-out" : START.has(word) ? "opt-in" : undefined
}

export interface OptOutRecord {
  readonly recipient: string
  readonly sender: string
  readonly change: OptOutChange
  readonly source: string
  readonly at: string
}

/**
 * Who has opted out of messages from which of our senders. Recorded from inbound STOP/START and from
 * Twilio's 21610; checked before every send so an opted-out recipient is never messaged.
 */
export class OptOuts extends Effect.Service<OptOuts>()("twilio-mcp/OptOuts", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const { db } = yield* Sqlite
    const upsert = db.prepare(`
      INSERT INTO opt_outs (recipient, sender, opted_out, source, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (recipient, sender) DO UPDATE SET
        opted_out = excluded.opted_out, source = excluded.source, updated_at = excluded.updated_at`)

    /** Synchronous on the connection (the inbound write path): inside a transaction only. */
    const sync = {
      record: (input: OptOutRecord) =>
        void upsert.run(input.recipient, input.sender, input.change === "opt-out" ? 1 : 0, input.source, input.at)
    }

    const record = (input: OptOutRecord) => attempt("record opt-out", () => sync.record(input))

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

    return { sync, record, optedOutSince, optedOutAmong } as const
  })
}) {}
