import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type Conversation, ConversationId, Metadata } from "./domain/Conversation.js"
import { attempt, storageError } from "./Database.js"
import { Sqlite } from "./Sqlite.js"

const ConversationRow = Schema.Struct({
  id: ConversationId,
  participants: Schema.parseJson(Schema.Array(Schema.String)),
  metadata: Schema.NullOr(Schema.parseJson(Metadata)),
  created_at: Schema.String,
  last_activity_at: Schema.String
})

const decodeRows = Schema.decodeUnknown(Schema.Array(ConversationRow))
const decodeRow = Schema.decodeUnknownSync(ConversationRow)

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

const BY_KEY = "SELECT * FROM conversations WHERE participant_key = ?"

/** Conversations and their participant keys. The only place that knows the conversations table. */
export class ConversationStore extends Effect.Service<ConversationStore>()("twilio-mcp/ConversationStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { db } = yield* Sqlite

    const one = (query: Effect.Effect<ReadonlyArray<unknown>, unknown>, operation: string) =>
      query.pipe(
        Effect.flatMap(decodeRows),
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toConversation)),
        Effect.mapError(storageError(operation))
      )

    const findById = (id: string) =>
      one(sql`SELECT * FROM conversations WHERE id = ${id}`, "find conversation")

    const byKey = db.prepare(BY_KEY)
    const idByKey = db.prepare("SELECT id FROM conversations WHERE participant_key = ?").pluck()
    const insert = db.prepare(`
      INSERT INTO conversations (id, participant_key, participants, metadata, created_at, last_activity_at)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (participant_key) DO NOTHING
      RETURNING *`)
    const touchActivity = db.prepare("UPDATE conversations SET last_activity_at = ? WHERE id = ? AND last_activity_at < ?")
    const conversationOf = (row: unknown): Conversation | undefined => row === undefined ? undefined : toConversation(decodeRow(row))

    /**
     * The statements of the write path, synchronous on the connection: for use inside a transaction
     * (`writeTransaction` or `Sqlite.submit`). They throw SQLite's errors.
     */
    const sync = {
      findByKey: (key: string) => conversationOf(byKey.get(key)),
      /** Just the id: what storing a message needs, without decoding the row. */
      idByKey: (key: string) => idByKey.get(key) as ConversationId | undefined,
      /**
       * The thread for the key: read first (the common case, one statement), else inserted unless another
       * writer got there first, then whichever row won is read: concurrent writers (another process, a
       * webhook) always converge on one conversation per participant set.
       */
      findOrCreate: (input: {
        readonly id: ConversationId
        readonly key: string
        readonly participants: ReadonlyArray<string>
        readonly metadata: Metadata | null
        readonly now: string
      }): { readonly conversation: Conversation; readonly created: boolean } => {
        const existing = sync.findByKey(input.key)
        if (existing !== undefined) return { conversation: existing, created: false }
        const inserted = conversationOf(insert.get(
          input.id,
          input.key,
          JSON.stringify(input.participants),
          input.metadata === null ? null : JSON.stringify(input.metadata),
          input.now,
          input.now
        ))
        if (inserted !== undefined) return { conversation: inserted, created: true }
        const winner = sync.findByKey(input.key)
        if (winner === undefined) throw new Error(`conversation ${input.key} vanished after a conflicting insert`)
        return { conversation: winner, created: false }
      },
      touch: (id: string, at: string) => void touchActivity.run(at, id, at)
    }

    // Through @effect/sql, which takes the connection's turn: a read outside a transaction never sees
    // another fiber's uncommitted thread.
    const findByKey = (key: string) => one(sql.unsafe(BY_KEY, [key]), "find conversation")

    const touch = (id: string, at: string) => attempt("update conversation", () => sync.touch(id, at))

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

    return { sync, findById, findByKey, touch, recent, mergeMetadata } as const
  })
}) {}
