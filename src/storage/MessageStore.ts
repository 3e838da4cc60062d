import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { MessageStatus, type NewMessage, statusRank } from "../domain/Message.js"
import { storageError } from "./Database.js"
import { jsonArray, jsonTable, jsonValues } from "./Dialect.js"
import { decodeMessageRows, messageColumns, toMessage } from "./MessageRows.js"
import { SearchIndex } from "./SearchIndex.js"
import { SqlLive } from "./Sql.js"

export interface StatusUpdate {
  readonly sid: string
  readonly status: MessageStatus
  readonly errorCode?: number | undefined
  /** Twilio's text for the error, when it sent one. */
  readonly errorMessage?: string | undefined
  readonly at: string
}

/** What applying a status did: whether the event was new, whether the message moved forward, whether it is stored. */
export interface StatusOutcome {
  readonly duplicate: boolean
  readonly advanced: boolean
  readonly known: boolean
}

/**
 * The row of a new message, for `jsonTable`. The webhook path's hot spot: mapped by hand, not by a Schema,
 * with `NewMessage` typed at the boundary.
 */
const insertRow = (message: NewMessage, now: string) => ({
  sid: message.sid,
  conversation_id: message.conversationId,
  direction: message.direction,
  from_address: message.from,
  to_address: message.to,
  body: message.body,
  status: message.status,
  status_rank: statusRank[message.status],
  error_code: message.errorCode ?? null,
  error_message: message.errorMessage ?? null,
  num_segments: message.numSegments ?? null,
  num_media: message.media?.length ?? 0,
  media: message.media && message.media.length > 0 ? JSON.stringify(message.media) : null,
  messaging_service_sid: message.messagingServiceSid ?? null,
  extra: message.extra && Object.keys(message.extra).length > 0 ? JSON.stringify(message.extra) : null,
  twilio_created_at: message.twilioCreatedAt ?? null,
  created_at: message.createdAt ?? now,
  updated_at: now
})

/** The columns of `insertRow`, typed for PostgreSQL (also what `migrate-to-postgres` copies). */
export const insertColumns = {
  sid: "text",
  conversation_id: "text",
  direction: "text",
  from_address: "text",
  to_address: "text",
  body: "text",
  status: "text",
  status_rank: "integer",
  error_code: "integer",
  error_message: "text",
  num_segments: "integer",
  num_media: "integer",
  media: "text",
  messaging_service_sid: "text",
  extra: "text",
  twilio_created_at: "text",
  created_at: "text",
  updated_at: "text"
} as const
const insertColumnList = Object.keys(insertColumns).join(", ")

/** The status update each SID of a batch ends on: the highest rank, keeping an error code seen on the way. */
const bestPerSid = (updates: ReadonlyArray<StatusUpdate>) => {
  const best = new Map<string, StatusUpdate>()
  for (const update of updates) {
    const current = best.get(update.sid)
    const code = update.errorCode === undefined ? current : update
    if (current === undefined || statusRank[update.status] > statusRank[current.status]) {
      best.set(update.sid, { ...update, errorCode: code?.errorCode, errorMessage: code?.errorMessage })
    } else if (current.errorCode === undefined && update.errorCode !== undefined) {
      best.set(update.sid, { ...current, errorCode: update.errorCode, errorMessage: update.errorMessage })
    }
  }
  return best
}

const InsertedRow = Schema.Struct({
  sid: Schema.String,
  pending: Schema.NullOr(Schema.parseJson(Schema.Tuple(MessageStatus, Schema.NullOr(Schema.Number), Schema.NullOr(Schema.String))))
})

/** A status update as a row, for `jsonTable`. */
const updateRow = (u: StatusUpdate) => ({
  sid: u.sid,
  status: u.status,
  status_rank: statusRank[u.status],
  error_code: u.errorCode ?? null,
  error_message: u.errorCode === undefined ? null : u.errorMessage ?? null,
  at: u.at
})
const updateColumns = { sid: "text", status: "text", status_rank: "integer", error_code: "integer", error_message: "text", at: "text" } as const

/**
 * Messages and their status events: storing, moving statuses forward, finding one message. The only place
 * that writes those tables (reads of many messages: MessageReads, MessageSearch).
 */
export class MessageStore extends Effect.Service<MessageStore>()("twilio-mcp/MessageStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const searchIndex = yield* SearchIndex
    const columns = sql.literal(messageColumns)

    /**
     * Idempotent insert keyed by SID, one statement for the batch. Each inserted row comes back with the
     * highest-ranked status callback stored before it existed, if any, to be applied at once.
     */
    const insertRows = SqlSchema.findAll({
      Request: Schema.String,
      Result: InsertedRow,
      execute: (json) =>
        sql`
          INSERT INTO messages (${sql.literal(insertColumnList)})
          SELECT ${sql.literal(insertColumnList)} FROM ${jsonTable(sql, json, "m", insertColumns)} WHERE true
          ON CONFLICT (sid) DO NOTHING
          RETURNING sid, (
            SELECT ${jsonArray(sql, "status, error_code, error_message")} FROM message_events WHERE message_sid = messages.sid
            ORDER BY status_rank DESC LIMIT 1) AS pending`
    })

    /** One event per SID and status: Twilio's retries and duplicates collapse. The new ones come back. */
    const insertEvents = SqlSchema.findAll({
      Request: Schema.String,
      Result: Schema.Struct({ message_sid: Schema.String, status: Schema.String }),
      execute: (json) =>
        sql`
          INSERT INTO message_events (message_sid, status, status_rank, error_code, error_message, received_at)
          SELECT sid, status, status_rank, error_code, error_message, at FROM ${jsonTable(sql, json, "e", updateColumns)} WHERE true
          ON CONFLICT (message_sid, status) DO NOTHING
          RETURNING message_sid, status`
    })

    /** Forward only; an error code is kept once set: `undelivered` keeps its code if a later event has none. */
    const advanceRows = SqlSchema.findAll({
      Request: Schema.String,
      Result: Schema.Struct({ sid: Schema.String }),
      execute: (json) =>
        sql`
          UPDATE messages SET status = u.status, status_rank = u.status_rank, error_code = COALESCE(u.error_code, messages.error_code),
            error_message = CASE WHEN u.error_code IS NULL THEN messages.error_message ELSE u.error_message END, updated_at = u.at
          FROM ${jsonTable(sql, json, "u", updateColumns)}
          WHERE messages.sid = u.sid AND messages.status_rank < u.status_rank
          RETURNING messages.sid AS sid`
    })

    const knownSids = SqlSchema.findAll({
      Request: Schema.String,
      Result: Schema.Struct({ sid: Schema.String }),
      execute: (json) => sql`SELECT sid FROM messages WHERE sid IN (${jsonValues(sql, json)})`
    })

    /** Moves each message forward to the best of its updates; the SIDs that moved. */
    const advance = (updates: ReadonlyArray<StatusUpdate>) =>
      updates.length === 0
        ? Effect.succeed(new Set<string>())
        : advanceRows(JSON.stringify(Array.from(bestPerSid(updates).values(), updateRow))).pipe(
          Effect.map((moved) => new Set(moved.map((row) => row.sid)))
        )

    /**
     * Stores the messages whose SIDs are new, in order, and applies the callbacks that came before them.
     * For each input, whether it was stored: a SID stored before, or earlier in the same batch, is not.
     */
    const insertMany = (messages: ReadonlyArray<NewMessage>, now: string) =>
      Effect.gen(function*() {
        const inserted = yield* insertRows(JSON.stringify(messages.map((m) => insertRow(m, now))))
        if (inserted.length === 0) return messages.map(() => false)
        yield* searchIndex.soon
        yield* advance(inserted.flatMap(({ pending, sid }) =>
          pending === null ? [] : [{ sid, status: pending[0], errorCode: pending[1] ?? undefined, errorMessage: pending[2] ?? undefined, at: now }]
        ))
        const fresh = new Set(inserted.map((row) => row.sid))
        return messages.map((m) => fresh.delete(m.sid))
      }).pipe(Effect.mapError(storageError("store message")))

    /**
     * Records each update as an event (once per SID and status) and moves each message forward only. For
     * each input: whether its event was new, whether its message moved to its status, and whether the
     * message is stored (a callback can beat the send's own insert: the event waits for the row).
     */
    const applyStatuses = (updates: ReadonlyArray<StatusUpdate>) =>
      Effect.gen(function*() {
        const events = yield* insertEvents(JSON.stringify(updates.map(updateRow)))
        const newEvents = new Set(events.map((e) => `${e.message_sid} ${e.status}`))
        const moved = yield* advance(updates)
        const best = bestPerSid(updates)
        const unmoved = updates.filter((u) => !moved.has(u.sid)).map((u) => u.sid)
        const known = unmoved.length === 0 ? new Set<string>() : new Set((yield* knownSids(JSON.stringify(unmoved))).map((row) => row.sid))
        return updates.map((u): StatusOutcome => {
          const advanced = moved.has(u.sid) && best.get(u.sid)?.status === u.status
          return { duplicate: !newEvents.delete(`${u.sid} ${u.status}`), advanced, known: moved.has(u.sid) || known.has(u.sid) }
        })
      }).pipe(Effect.mapError(storageError("apply status")))

    const findRow = (sid: string) =>
      decodeMessageRows(sql`SELECT ${columns} FROM messages WHERE sid = ${sid}`, "find message").pipe(
        Effect.map((r) => Option.fromNullable(r[0]))
      )

    const findBySid = (sid: string) => Effect.map(findRow(sid), Option.map(toMessage))

    /** When the newest inbound message was stored: where catching up with Twilio starts. */
    const newestInboundAt = sql<{ at: string | null }>`SELECT MAX(created_at) AS at FROM messages WHERE direction = 'inbound'`.pipe(
      Effect.map((r) => r[0]?.at ?? undefined),
      Effect.mapError(storageError("find newest inbound message"))
    )

    /** Outbound messages since `since` whose status is not final yet: their callbacks may have been missed. */
    const pendingOutbound = (since: string, limit: number) =>
      sql<{ sid: string }>`
        SELECT sid FROM messages WHERE direction = 'outbound' AND status_rank < 4 AND created_at >= ${since}
        ORDER BY created_at DESC LIMIT ${limit}`.pipe(
        Effect.map((r) => r.map((row) => row.sid)),
        Effect.mapError(storageError("list pending messages"))
      )

    return { insertMany, applyStatuses, findRow, findBySid, newestInboundAt, pendingOutbound } as const
  }),
  dependencies: [SqlLive, SearchIndex.Default]
}) {}
