import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Direction, Media, type Message, MessageStatus, type NewMessage, statusRank } from "../domain/Message.js"
import { bestFirst } from "../messaging/SearchRanking.js"
import { cursorOf, parseCursor } from "../domain/Time.js"
import { twilioErrorText } from "../twilio/TwilioErrors.js"
import { storageError } from "./Database.js"
import { indexedBy, jsonArray, jsonTable, jsonValues } from "./Dialect.js"
import { SearchIndex } from "./SearchIndex.js"
import { SqlLive } from "./Sql.js"

const MessageRow = Schema.Struct({
  id: Schema.Number,
  sid: Schema.String,
  conversation_id: Schema.NullOr(Schema.String),
  direction: Direction,
  from_address: Schema.String,
  to_address: Schema.String,
  body: Schema.String,
  status: MessageStatus,
  error_code: Schema.NullOr(Schema.Number),
  error_message: Schema.NullOr(Schema.String),
  num_segments: Schema.NullOr(Schema.Number),
  media: Schema.NullOr(Schema.parseJson(Schema.Array(Media))),
  created_at: Schema.String
})
export type MessageRow = typeof MessageRow.Type

const decodeRows = Schema.decodeUnknown(Schema.Array(MessageRow))

const toMessage = (row: MessageRow): Message => ({
  messageSid: row.sid,
  direction: row.direction,
  from: row.from_address,
  to: row.to_address,
  body: row.body,
  status: row.status,
  timestamp: row.created_at,
  conversationId: row.conversation_id,
  // Twilio's own words when it gave them, else what the code means.
  ...(row.error_code === null ? {} : { errorCode: row.error_code, errorMessage: row.error_message ?? twilioErrorText(row.error_code) }),
  ...(row.num_segments === null ? {} : { numSegments: row.num_segments }),
  ...(row.media === null || row.media.length === 0 ? {} : { media: row.media }),
  // Inbound bodies are written by third parties: flagged so a model treats them as data, not instructions.
  ...(row.direction === "inbound" ? { untrusted: true as const } : {})
})

export interface InboundFilter {
  readonly from?: string | undefined
  readonly to?: string | undefined
  readonly conversationId?: string | undefined
  readonly since?: string | undefined
  readonly limit: number
}

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

/** How many of the newest matches a search ranks. */
export const SEARCH_WINDOW = 500

/** The most replies one wait returns. */
const REPLIES_AT_ONCE = 50

/**
 * How many sources of a listing are read at once: on PostgreSQL each is a round trip on a connection of the
 * pool, so a sender's threads are read side by side; SQLite's one connection takes them in turn anyway.
 */
const SOURCES_AT_ONCE = 4

/** Newest first, as the indexes order messages: by time, then by insertion. */
const newestFirst = (a: MessageRow, b: MessageRow) => a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id

const messageColumns = "id, sid, conversation_id, direction, from_address, to_address, body, status, error_code, error_message, num_segments, media, created_at"

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

/** A message's read-marker scope: its thread, or its sender when it was stored without one. */
export const readScope = (row: { readonly conversation_id: string | null; readonly from_address: string }) =>
  row.conversation_id ?? `from:${row.from_address}`

export interface ReadMark {
  readonly scope: string
  readonly messageId: number
}

/** What showing these messages to a model marks read: per scope, the highest inbound id among them. */
const readMarks = (rows: ReadonlyArray<MessageRow>): ReadonlyArray<ReadMark> => {
  const highest = new Map<string, number>()
  for (const row of rows) {
    if (row.direction !== "inbound") continue
    const scope = readScope(row)
    if ((highest.get(scope) ?? 0) < row.id) highest.set(scope, row.id)
  }
  return Array.from(highest, ([scope, messageId]) => ({ scope, messageId }))
}

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

/** Messages and their status events. The only place that knows those tables. */
export class MessageStore extends Effect.Service<MessageStore>()("twilio-mcp/MessageStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const searchIndex = yield* SearchIndex
    const columns = sql.literal(messageColumns)

    const rows = (query: Effect.Effect<ReadonlyArray<unknown>, unknown>, operation: string) =>
      query.pipe(Effect.flatMap(decodeRows), Effect.mapError(storageError(operation)))

    /** After a time, or after a cursor's message (same time, later id: two messages stored in one millisecond). */
    const after = (since: string) => {
      const { at, id } = parseCursor(since)
      return id === undefined ? sql`created_at > ${at}` : sql`(created_at > ${at} OR (created_at = ${at} AND id > ${id}))`
    }

    /** Not yet returned to a model: past the read marker of its thread, or of its sender when it has no thread. */
    const unread = sql`id > COALESCE((
      SELECT message_id FROM read_markers WHERE scope = COALESCE(messages.conversation_id, 'from:' || messages.from_address)), 0)`

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
      rows(sql`SELECT ${columns} FROM messages WHERE sid = ${sid}`, "find message").pipe(
        Effect.map((r) => Option.fromNullable(r[0]))
      )

    const findBySid = (sid: string) => Effect.map(findRow(sid), Option.map(toMessage))

    /** A table (with the index to read it by) and the condition that picks its part of the messages. */
    type Source = { readonly table: Statement.Fragment; readonly where: Statement.Fragment }

    /**
     * Where inbound messages matching `filter` are read from, each in (created_at, id) order by an index.
     * By sender there is no index (migration 0005): the threads the sender has written in, each through the
     * thread index, and the unthreaded messages (auto-creation off) through their own; the pages are merged.
     */
    const inboundSources = (filter: { readonly from?: string | undefined; readonly conversationId?: string | undefined }) =>
      filter.from === undefined || filter.conversationId !== undefined
        ? Effect.succeed<ReadonlyArray<Source>>([{ table: sql`messages`, where: sql`TRUE` }])
        : sql<{ id: string }>`SELECT conversation_id AS id FROM inbound_senders WHERE from_address = ${filter.from}`.pipe(
          Effect.mapError(storageError("find the sender's threads")),
          Effect.map((threads) => [
            ...threads.map((t): Source => ({ table: indexedBy(sql, "messages", "messages_conversation"), where: sql`conversation_id = ${t.id}` })),
            { table: indexedBy(sql, "messages", "messages_unthreaded_from"), where: sql`conversation_id IS NULL` }
          ])
        )

    /**
     * The first `limit` inbound messages matching `conditions`, newest or oldest first: a page from each
     * source, merged.
     */
    const inboundPage = (
      sources: ReadonlyArray<Source>,
      conditions: ReadonlyArray<Statement.Fragment>,
      order: "newest" | "oldest",
      limit: number,
      operation: string
    ) =>
      Effect.map(
        Effect.forEach(sources, ({ table, where }) =>
          rows(
            sql`SELECT ${columns} FROM ${table} WHERE ${sql.and([...conditions, where])}
                ORDER BY ${order === "newest" ? sql`created_at DESC, id DESC` : sql`created_at, id`} LIMIT ${limit}`,
            operation
          ), { concurrency: SOURCES_AT_ONCE }),
        (pages) => {
          const merged = pages.flat().sort(newestFirst)
          return (order === "newest" ? merged : merged.reverse()).slice(0, limit)
        }
      )

    /** Inbound messages, newest first, and how many match in all. */
    const listInbound = (filter: InboundFilter) =>
      Effect.gen(function*() {
        const conditions = [
          sql`direction = 'inbound'`,
          ...(filter.from === undefined ? [] : [sql`from_address = ${filter.from}`]),
          ...(filter.to === undefined ? [] : [sql`to_address = ${filter.to}`]),
          ...(filter.conversationId === undefined ? [] : [sql`conversation_id = ${filter.conversationId}`]),
          ...(filter.since === undefined ? [] : [after(filter.since)])
        ]
        const sources = yield* inboundSources(filter)
        const page = yield* inboundPage(sources, conditions, "newest", filter.limit, "list inbound messages")
        if (page.length < filter.limit) return { messages: page.map(toMessage), totalCount: page.length }
        const counts = yield* Effect.forEach(sources, ({ table, where }) =>
          sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${table} WHERE ${sql.and([...conditions, where])}`.pipe(
            Effect.mapError(storageError("count inbound messages"))
          ), { concurrency: SOURCES_AT_ONCE })
        return { messages: page.map(toMessage), totalCount: counts.reduce((n, [row]) => n + row!.n, 0) }
      })

    /**
     * The newest `limit` messages of a thread older than the message `before` (if given), in chronological
     * order, and whether older ones remain.
     */
    const threadPage = (conversationId: string, options: { readonly limit: number; readonly before?: MessageRow | undefined }) =>
      Effect.gen(function*() {
        const cursor = options.before
        const older = cursor === undefined
          ? sql`conversation_id = ${conversationId}`
          : sql`conversation_id = ${conversationId} AND (created_at < ${cursor.created_at} OR (created_at = ${cursor.created_at} AND id < ${cursor.id}))`
        const page = yield* rows(
          sql`SELECT ${columns} FROM messages WHERE ${older} ORDER BY created_at DESC, id DESC LIMIT ${options.limit + 1}`,
          "read conversation thread"
        )
        const hasMore = page.length > options.limit
        const shown = page.slice(0, options.limit)
        return { messages: shown.reverse().map(toMessage), hasMore, marks: readMarks(shown) }
      })

    /** Counts per direction and the newest message: enough for a thread summary without reading it all. */
    const threadStats = (conversationId: string) =>
      Effect.gen(function*() {
        const counts = yield* sql<{ direction: string; n: number }>`
          SELECT direction, COUNT(*) AS n FROM messages WHERE conversation_id = ${conversationId} GROUP BY direction`.pipe(
          Effect.mapError(storageError("summarize thread"))
        )
        const last = yield* rows(
          sql`SELECT ${columns} FROM messages WHERE conversation_id = ${conversationId} ORDER BY created_at DESC, id DESC LIMIT 1`,
          "summarize thread"
        )
        const count = (d: string) => counts.find((c) => c.direction === d)?.n ?? 0
        return {
          inbound: count("inbound"),
          outbound: count("outbound"),
          last: Option.map(Option.fromNullable(last[0]), toMessage)
        }
      })

    /** When this thread last sent: a reply is anything inbound after it. */
    const lastOutboundAt = (conversationId: string) =>
      sql<{ at: string | null }>`
        SELECT MAX(created_at) AS at FROM messages WHERE conversation_id = ${conversationId} AND direction = 'outbound'`.pipe(
        Effect.map((r) => r[0]?.at ?? undefined),
        Effect.mapError(storageError("find last sent message"))
      )

    /**
     * The replies a waiter returns, in reading order (time, then id): the inbound messages after `since` when
     * it is given; otherwise those not yet returned (see `unread`) that came after `floor` (the thread's last
     * sent message). With the cursor of the newest one and the read marks they make.
     */
    const inboundAfter = (filter: {
      readonly conversationId?: string | undefined
      readonly from?: string | undefined
      readonly since?: string | undefined
      readonly floor?: string | undefined
    }) =>
      Effect.gen(function*() {
        const conditions = [
          sql`direction = 'inbound'`,
          ...(filter.since !== undefined
            ? [after(filter.since)]
            : [unread, ...(filter.floor === undefined ? [] : [sql`created_at > ${filter.floor}`])]),
          ...(filter.conversationId === undefined ? [] : [sql`conversation_id = ${filter.conversationId}`]),
          ...(filter.from === undefined ? [] : [sql`from_address = ${filter.from}`])
        ]
        const page = yield* inboundPage(yield* inboundSources(filter), conditions, "oldest", REPLIES_AT_ONCE, "read replies")
        const newest = page[page.length - 1]
        return {
          messages: page.map(toMessage),
          cursor: newest === undefined ? undefined : cursorOf(newest.created_at, newest.id),
          marks: readMarks(page)
        }
      })

    /**
     * Full-text search over bodies, once every stored message is indexed: the newest SEARCH_WINDOW matches
     * (FTS5 walks its matches newest first and stops there; ranking every match of a common word, 100k of
     * 1M messages, took ~140 ms), best first by SearchRanking. The query is matched as words (each term
     * quoted), so user text can never be an FTS5 syntax error.
     */
    const search = (query: {
      readonly text: string
      readonly from?: string | undefined
      readonly conversationId?: string | undefined
      readonly limit: number
    }) => {
      // NUL ends FTS5's query string early ("unterminated string"): a separator, like whitespace.
      const terms = query.text.split(/[\s\0]+/).filter((t) => t.length > 0)
      if (terms.length === 0) return Effect.succeed([] as Array<Message>)
      // FTS5 over its own index, or PostgreSQL over the tsvector column (migration 0002), newest first either way.
      const { from, match, order } = sql.onDialectOrElse({
        pg: () => ({
          from: sql`messages m`,
          // Each term a quoted phrase, as for FTS5 (migration 0002): no operator is taken from user text.
          match: sql`m.body_search @@ messages_search_query(${JSON.stringify(terms)}::jsonb)`,
          order: sql`m.id DESC`
        }),
        orElse: () => ({
          from: sql`messages_fts JOIN messages m ON m.id = messages_fts.rowid`,
          match: sql`messages_fts MATCH ${terms.map((t) => `"${t.replaceAll("\"", "\"\"")}"`).join(" ")}`,
          order: sql`messages_fts.rowid DESC`
        })
      })
      const newest = sql<{ id: number; body: string }>`
        SELECT m.id AS id, m.body AS body FROM ${from}
        WHERE ${
        sql.and([
          match,
          ...(query.from === undefined ? [] : [sql`m.from_address = ${query.from}`]),
          ...(query.conversationId === undefined ? [] : [sql`m.conversation_id = ${query.conversationId}`])
        ])
      }
        ORDER BY ${order} LIMIT ${SEARCH_WINDOW}`.pipe(Effect.mapError(storageError("search messages")))
      return Effect.zipRight(searchIndex.catchUp, newest).pipe(
        Effect.flatMap((found) => {
          const best = bestFirst(terms, found).slice(0, query.limit).map((f) => f.id)
          if (best.length === 0) return Effect.succeed([] as Array<Message>)
          return Effect.map(rows(sql`SELECT ${columns} FROM messages WHERE ${sql.in("id", best)}`, "search messages"), (r) => {
            const byId = new Map(r.map((row) => [row.id, row]))
            return best.flatMap((id) => {
              const row = byId.get(id)
              return row === undefined ? [] : [toMessage(row)]
            })
          })
        })
      )
    }

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

    return {
      insertMany,
      applyStatuses,
      newestInboundAt,
      pendingOutbound,
      findBySid,
      findRow,
      listInbound,
      threadPage,
      threadStats,
      lastOutboundAt,
      inboundAfter,
      search
    } as const
  }),
  dependencies: [SqlLive, SearchIndex.Default]
}) {}
