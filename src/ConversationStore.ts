import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type Conversation, ConversationId, Metadata } from "./domain/Conversation.js"
import { storageError } from "./Database.js"
import { StorageError } from "./domain/Errors.js"

const ConversationRow = Schema.Struct({
  id: ConversationId,
  participants: Schema.parseJson(Schema.Array(Schema.String)),
  metadata: Schema.NullOr(Schema.parseJson(Metadata)),
  created_at: Schema.String,
  last_activity_at: Schema.String
})

const decodeRows = Schema.decodeUnknown(Schema.Array(ConversationRow))

const toConversation = (row: typeof ConversationRow.Type): Conversation => ({
  id: row.id,
  participants: row.participants,
  metadata: row.metadata,
  createdAt: row.created_at,
  lastActivityAt: row.last_activity_at
})

const lastOf = (row: Record<string, unknown>) =>
  row.last_sid === null
    ? null
    : {
      messageSid: String(row.last_sid),
      direction: row.last_direction as "inbound" | "outbound",
      from: String(row.last_from),
      body: String(row.last_body),
      status: String(row.last_status),
      timestamp: String(row.last_at),
      ...(row.last_direction === "inbound" ? { untrusted: true as const } : {})
    }

/** Conversations and their participant keys. The only place that knows the conversations table. */
export class ConversationStore extends Effect.Service<ConversationStore>()("twilio-mcp/ConversationStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const one = (query: Effect.Effect<ReadonlyArray<unknown>, unknown>, operation: string) =>
      query.pipe(
        Effect.flatMap(decodeRows),
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toConversation)),
        Effect.mapError(storageError(operation))
      )

    const findById = (id: string) =>
      one(sql`SELECT * FROM conversations WHERE id = ${id}`, "find conversation")

    const findByKey = (key: string) =>
      one(sql`SELECT * FROM conversations WHERE participant_key = ${key}`, "find conversation")

    /**
     * The thread for the key: read first (the common case, one statement), else inserted unless another
     * writer got there first, then whichever row won is read: concurrent writers (another process, a
     * webhook) always converge on one conversation per participant set.
     */
    const findOrCreate = (input: {
      readonly id: ConversationId
      readonly key: string
      readonly participants: ReadonlyArray<string>
      readonly metadata: Metadata | null
      readonly now: string
    }) =>
      Effect.gen(function*() {
        const existing = yield* findByKey(input.key)
        if (Option.isSome(existing)) return { conversation: existing.value, created: false }
        const inserted = yield* one(
          sql`
            INSERT INTO conversations (id, participant_key, participants, metadata, created_at, last_activity_at)
            VALUES (${input.id}, ${input.key}, ${JSON.stringify(input.participants)},
                    ${input.metadata === null ? null : JSON.stringify(input.metadata)}, ${input.now}, ${input.now})
            ON CONFLICT (participant_key) DO NOTHING
            RETURNING *`,
          "create conversation"
        )
        if (Option.isSome(inserted)) return { conversation: inserted.value, created: true }
        const conversation = yield* findByKey(input.key).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new StorageError({ operation: "create conversation", detail: "row vanished" })),
            onSome: Effect.succeed
          }))
        )
        return { conversation, created: false }
      })

    const touch = (id: string, at: string) =>
      sql`UPDATE conversations SET last_activity_at = ${at} WHERE id = ${id} AND last_activity_at < ${at}`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError("update conversation"))
      )

    /**
     * Most recently active threads first, each with its newest message. `before` is the last conversation
     * of the previous page: (last activity, id) orders threads active in the same millisecond too.
     */
    const recent = (options: { readonly limit: number; readonly before?: string | undefined }) =>
      sql`
        SELECT c.*, m.sid AS last_sid, m.direction AS last_direction, m.from_address AS last_from,
               m.body AS last_body, m.status AS last_status, m.created_at AS last_at
        FROM conversations c
        LEFT JOIN messages m ON m.id = (
          SELECT id FROM messages WHERE conversation_id = c.id ORDER BY created_at DESC, id DESC LIMIT 1)
        WHERE ${
        options.before === undefined
          ? sql`1 = 1`
          : sql`(c.last_activity_at, c.id) < (SELECT last_activity_at, id FROM conversations WHERE id = ${options.before})`
      }
        ORDER BY c.last_activity_at DESC, c.id DESC
        LIMIT ${options.limit}`.pipe(
        Effect.flatMap((raw) =>
          Effect.map(decodeRows(raw), (decoded) => decoded.map((c, i) => ({ ...toConversation(c), last: lastOf(raw[i]!) })))
        ),
        Effect.mapError(storageError("list conversations"))
      )

    /** Adds keys to a thread's metadata (a later create_conversation for the same participants). */
    const mergeMetadata = (id: string, metadata: Metadata) =>
      sql`UPDATE conversations SET metadata = json_patch(COALESCE(metadata, '{}'), ${JSON.stringify(metadata)}) WHERE id = ${id}`.pipe(
        Effect.zipRight(findById(id)),
        Effect.mapError(storageError("update conversation metadata"))
      )

    return { findById, findByKey, findOrCreate, touch, recent, mergeMetadata } as const
  })
}) {}
