import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { cursorOf, parseCursor } from "../domain/Time.js"
import { storageError } from "./Database.js"
import { indexedBy } from "./Dialect.js"
import { decodeMessageRows, type MessageRow, messageColumns, newestFirst, readMarks, toMessage } from "./MessageRows.js"
import { SqlLive } from "./Sql.js"

export interface InboundFilter {
  readonly from?: string | undefined
  readonly to?: string | undefined
  readonly conversationId?: string | undefined
  readonly since?: string | undefined
  readonly limit: number
}

/** The most replies one wait returns. */
const REPLIES_AT_ONCE = 50

/**
 * How many sources of a listing are read at once: on PostgreSQL each is a round trip on a connection of the
 * pool, so a sender's threads are read side by side; SQLite's one connection takes them in turn anyway.
 */
const SOURCES_AT_ONCE = 4

/** Pages of messages: received ones by filter, a thread's, replies not yet returned, a thread's counts. */
export class MessageReads extends Effect.Service<MessageReads>()("twilio-mcp/MessageReads", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(messageColumns)

    /** After a time, or after a cursor's message (same time, later id: two messages stored in one millisecond). */
    const after = (since: string) => {
      const { at, id } = parseCursor(since)
      return id === undefined ? sql`created_at > ${at}` : sql`(created_at > ${at} OR (created_at = ${at} AND id > ${id}))`
    }

    /** Not yet returned to a model: past the read marker of its thread, or of its sender when it has no thread. */
    const unread = sql`id > COALESCE((
      SELECT message_id FROM read_markers WHERE scope = COALESCE(messages.conversation_id, 'from:' || messages.from_address)), 0)`

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
          decodeMessageRows(
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
        const page = yield* decodeMessageRows(
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
        const last = yield* decodeMessageRows(
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

    return { listInbound, threadPage, threadStats, lastOutboundAt, inboundAfter } as const
  }),
  dependencies: [SqlLive]
}) {}
