import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { storageError } from "./Database.js"
import { SqlLive } from "./Sql.js"

/** How many of a thread's newest named messages are read for the names of its participants. */
const NAMED_MESSAGES = 20

/** What WhatsApp needs of the stored messages: when a person last wrote in a thread, and what they call themselves. */
export class WhatsAppStore extends Effect.Service<WhatsAppStore>()("twilio-mcp/WhatsAppStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** When the thread's newest inbound message was stored: the thread index, read backwards to the first one. */
    const lastInboundAt = (conversationId: string) =>
      sql<{ at: string }>`
        SELECT created_at AS at FROM messages WHERE conversation_id = ${conversationId} AND direction = 'inbound'
        ORDER BY created_at DESC, id DESC LIMIT 1`.pipe(
        Effect.map((rows) => rows[0]?.at),
        Effect.mapError(storageError("find the last message received"))
      )

    /** Each sender's newest profile name in a WhatsApp thread. */
    const profileNames = (conversationId: string) =>
      sql<{ from_address: string; profile_name: string }>`
        SELECT from_address, profile_name FROM messages
        WHERE conversation_id = ${conversationId} AND direction = 'inbound' AND profile_name IS NOT NULL
        ORDER BY created_at DESC, id DESC LIMIT ${NAMED_MESSAGES}`.pipe(
        Effect.map((rows) => {
          const names: Record<string, string> = {}
          for (const row of rows) names[row.from_address] ??= row.profile_name
          return names
        }),
        Effect.mapError(storageError("read profile names"))
      )

    return { lastInboundAt, profileNames } as const
  }),
  dependencies: [SqlLive]
}) {}
