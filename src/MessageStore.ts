import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { attempt, storageError } from "./Database.js"
import { Direction, Media, type Message, MessageStatus, type NewMessage, statusRank } from "./domain/Message.js"
import { twilioErrorText } from "./domain/TwilioErrors.js"
import { SearchIndex } from "./SearchIndex.js"
import { bestFirst } from "./SearchRanking.js"
import { Sqlite } from "./Sqlite.js"

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
  num_segments: Schema.NullOr(Schema.Number),
  media: Schema.NullOr(Schema.parseJson(Schema.Array(Media))),
  created_at: Schema.String
})
type MessageRow = typeof MessageRow.Type

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
  ...(row.error_code === null ? {} : { errorCode: row.error_code, errorMessage: twilioErrorText(row.error_code) }),
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
  readonly at: string
}

/** What applying a status did: whether the event was new and whether the message moved forward. */
export interface StatusOutcome {
  readonly duplicate: boolean
  readonly advanced: boolean
  readonly known: boolean
}

/** How many of the newest matches a search ranks. */
export const SEARCH_WINDOW = 500

/** The most replies one wait returns. */
const REPLIES_AT_ONCE = 50

/** Newest first, as the indexes order messages: by time, then by insertion. */
const newestFirst = (a: MessageRow, b: MessageRow) => a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id

const messageColumns = "id, sid, conversation_id, direction, from_address, to_address, body, status, error_code, num_segments, media, created_at"

/** Messages and their status events. The only place that knows those tables. */
export class MessageStore extends Effect.Service<MessageStore>()("twilio-mcp/MessageStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(messageColumns)

    const rows = (query: Effect.Effect<ReadonlyArray<unknown>, unknown>, operation: string) =>
      query.pipe(Effect.flatMap(decodeRows), Effect.mapError(storageError(operation)))

    const { db } = yield* Sqlite
    const searchIndex = yield* SearchIndex
    /**
     * Idempotent insert keyed by SID. It returns the highest-ranked status callback stored before the row
     * existed, if any (saving a statement per message), to be applied at once.
     */
    const insertMessage = db.prepare(`
      INSERT INTO messages (sid, conversation_id, direction, from_address, to_address, body, status,
        status_rank, error_code, num_segments, num_media, media, messaging_service_sid, extra,
        twilio_created_at, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (sid) DO NOTHING
      RETURNING (
        SELECT json_array(status, error_code) FROM message_events WHERE message_sid = messages.sid
        ORDER BY status_rank DESC LIMIT 1) AS pending`)
    /** Forward only; an error code is kept once set: `undelivered` keeps its code if a later event has none. */
    const advanceStatus = db.prepare(`
      UPDATE messages SET status = ?, status_rank = ?, error_code = COALESCE(?, error_code), updated_at = ?
      WHERE sid = ? AND status_rank < ?`)
    /** One event per SID and status: Twilio's retries and duplicates collapse. */
    const insertEvent = db.prepare(`
      INSERT INTO message_events (message_sid, status, status_rank, error_code, received_at)
      VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (message_sid, status) DO NOTHING`)
    const messageExists = db.prepare("SELECT 1 FROM messages WHERE sid = ?").pluck()

    const advance = (update: StatusUpdate) => {
      const rank = statusRank[update.status]
      return advanceStatus.run(update.status, rank, update.errorCode ?? null, update.at, update.sid, rank).changes > 0
    }

    /**
     * The statements of the write path, synchronous on the connection: for use inside a transaction
     * (`writeTransaction` or `Sqlite.submit`). They throw SQLite's errors.
     */
    const sync = {
      /** Stores the message unless its SID is known (false then), and applies a callback that came first. */
      insert: (message: NewMessage, now: string): boolean => {
        const inserted = insertMessage.get(
          message.sid,
          message.conversationId,
          message.direction,
          message.from,
          message.to,
          message.body,
          message.status,
          statusRank[message.status],
          message.errorCode ?? null,
          message.numSegments ?? null,
          message.media?.length ?? 0,
          message.media && message.media.length > 0 ? JSON.stringify(message.media) : null,
          message.messagingServiceSid ?? null,
          message.extra && Object.keys(message.extra).length > 0 ? JSON.stringify(message.extra) : null,
          message.twilioCreatedAt ?? null,
          message.createdAt ?? now,
          now
        ) as { pending: string | null } | undefined
        if (inserted === undefined) return false
        searchIndex.soon()
        if (inserted.pending !== null) {
          const [status, errorCode] = JSON.parse(inserted.pending) as [MessageStatus, number | null]
          advance({ sid: message.sid, status, errorCode: errorCode ?? undefined, at: now })
        }
        return true
      },
      /** Records the event (once per SID and status) and moves the message forward only. */
      applyStatus: (update: StatusUpdate): StatusOutcome => {
        const event = insertEvent.run(update.sid, update.status, statusRank[update.status], update.errorCode ?? null, update.at)
        const advanced = advance(update)
        return { duplicate: event.changes === 0, advanced, known: advanced || messageExists.get(update.sid) !== undefined }
      }
    }

    const insert = (message: NewMessage, now: string) => attempt("store message", () => sync.insert(message, now))

    const findBySid = (sid: string) =>
      rows(sql`SELECT ${columns} FROM messages WHERE sid = ${sid}`, "find message").pipe(
        Effect.map((r) => Option.map(Option.fromNullable(r[0]), toMessage))
      )

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
            ...threads.map((t): Source => ({ table: sql`messages INDEXED BY messages_conversation`, where: sql`conversation_id = ${t.id}` })),
            { table: sql`messages INDEXED BY messages_unthreaded_from`, where: sql`conversation_id IS NULL` }
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
          )),
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
          ...(filter.since === undefined ? [] : [sql`created_at > ${filter.since}`])
        ]
        const sources = yield* inboundSources(filter)
        const page = yield* inboundPage(sources, conditions, "newest", filter.limit, "list inbound messages")
        if (page.length < filter.limit) return { messages: page.map(toMessage), totalCount: page.length }
        const counts = yield* Effect.forEach(sources, ({ table, where }) =>
          sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${table} WHERE ${sql.and([...conditions, where])}`.pipe(
            Effect.mapError(storageError("count inbound messages"))
          ))
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
        return { messages: page.slice(0, options.limit).reverse().map(toMessage), hasMore }
      })

    const findRow = (sid: string) =>
      rows(sql`SELECT ${columns} FROM messages WHERE sid = ${sid}`, "find message").pipe(
        Effect.map((r) => Option.fromNullable(r[0]))
      )

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

    /** Inbound messages after `since` in chronological order: the replies a waiter returns. */
    const inboundAfter = (filter: { readonly conversationId?: string | undefined; readonly from?: string | undefined; readonly since: string }) =>
      Effect.gen(function*() {
        const conditions = [
          sql`direction = 'inbound'`,
          sql`created_at > ${filter.since}`,
          ...(filter.conversationId === undefined ? [] : [sql`conversation_id = ${filter.conversationId}`]),
          ...(filter.from === undefined ? [] : [sql`from_address = ${filter.from}`])
        ]
        const page = yield* inboundPage(yield* inboundSources(filter), conditions, "oldest", REPLIES_AT_ONCE, "read replies")
        return page.map(toMessage)
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
      const newest = sql<{ id: number; body: string }>`
        SELECT m.id AS id, m.body AS body
        FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
        WHERE ${
        sql.and([
          sql`messages_fts MATCH ${terms.map((t) => `"${t.replaceAll("\"", "\"\"")}"`).join(" ")}`,
          ...(query.from === undefined ? [] : [sql`m.from_address = ${query.from}`]),
          ...(query.conversationId === undefined ? [] : [sql`m.conversation_id = ${query.conversationId}`])
        ])
      }
        ORDER BY messages_fts.rowid DESC LIMIT ${SEARCH_WINDOW}`.pipe(Effect.mapError(storageError("search messages")))
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
      sync,
      newestInboundAt,
      pendingOutbound,
      insert,
      findBySid,
      findRow,
      listInbound,
      threadPage,
      threadStats,
      lastOutboundAt,
      inboundAfter,
      search
    } as const
  })
}) {}
