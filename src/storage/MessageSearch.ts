import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Message } from "../domain/Message.js"
import { bestFirst } from "../domain/SearchRanking.js"
import { storageError } from "./Database.js"
import { decodeMessageRows, messageColumns, toMessage } from "./MessageRows.js"
import { SearchIndex } from "./SearchIndex.js"
import { SqlLive } from "./Sql.js"

/** How many of the newest matches a search ranks. */
const SEARCH_WINDOW = 500

/** Full-text search over message bodies, ranked. */
export class MessageSearch extends Effect.Service<MessageSearch>()("twilio-mcp/MessageSearch", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const searchIndex = yield* SearchIndex
    const columns = sql.literal(messageColumns)

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
          return Effect.map(decodeMessageRows(sql`SELECT ${columns} FROM messages WHERE ${sql.in("id", best)}`, "search messages"), (r) => {
            const byId = new Map(r.map((row) => [row.id, row]))
            return best.flatMap((id) => {
              const row = byId.get(id)
              return row === undefined ? [] : [toMessage(row)]
            })
          })
        })
      )
    }

    return { search } as const
  }),
  dependencies: [SqlLive, SearchIndex.Default]
}) {}
