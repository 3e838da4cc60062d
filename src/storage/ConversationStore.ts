import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Channel } from "../domain/Address.js"
import { type Conversation, ConversationId, Metadata } from "../domain/Conversation.js"
import { UnknownPageStart } from "../domain/Errors.js"
import { Direction } from "../domain/Message.js"
import { storageError } from "./Database.js"
import { jsonTable, jsonValues } from "./Dialect.js"
import { SqlLive } from "./Sql.js"

const ConversationRow = Schema.Struct({
  id: ConversationId,
  participant_key: Schema.String,
  participants: Schema.parseJson(Schema.Array(Schema.String)),
  metadata: Schema.NullOr(Schema.parseJson(Metadata)),
  channel: Channel,
  created_at: Schema.String,
  last_activity_at: Schema.String
})
type ConversationRow = typeof ConversationRow.Type

const toConversation = (row: ConversationRow): Conversation => ({
  id: row.id,
  participants: row.participants,
  channel: row.channel,
  metadata: row.metadata,
  createdAt: row.created_at,
  lastActivityAt: row.last_activity_at
})

/** A thread with its newest message, as list_conversations shows it. */
const RecentRow = Schema.Struct({
  ...ConversationRow.fields,
  last_sid: Schema.NullOr(Schema.String),
  last_direction: Schema.NullOr(Direction),
  last_from: Schema.NullOr(Schema.String),
  last_body: Schema.NullOr(Schema.String),
  last_status: Schema.NullOr(Schema.String),
  last_at: Schema.NullOr(Schema.String),
  unread: Schema.Number
})

const lastOf = (row: typeof RecentRow.Type) =>
  row.last_sid === null || row.last_direction === null
    ? null
    : {
      messageSid: row.last_sid,
      direction: row.last_direction,
      channel: row.channel,
      from: row.last_from ?? "",
      body: row.last_body ?? "",
      status: row.last_status ?? "",
      timestamp: row.last_at ?? "",
      ...(row.last_direction === "inbound" ? { untrusted: true as const } : {})
    }

/** A conversation to create: the id it gets unless its participant set already has one. */
const NewConversation = Schema.Struct({
  id: ConversationId,
  key: Schema.String,
  participants: Schema.parseJson(Schema.Array(Schema.String)),
  metadata: Schema.NullOr(Schema.parseJson(Metadata)),
  now: Schema.String
})
export type NewConversation = typeof NewConversation.Type

/** Several, as one JSON parameter: one statement for a batch, whatever its size. */
const NewConversations = Schema.parseJson(Schema.Array(NewConversation))

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** RFC 7396 JSON merge patch: `patch`'s keys over `target`'s, recursively; a null removes the key. */
const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isObject(patch)) return patch
  // No prototype: a "__proto__" key is data, as in the JSON it came from.
  const merged: Record<string, unknown> = Object.assign(Object.create(null), isObject(target) ? target : {})
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key]
    else merged[key] = mergePatch(merged[key], value)
  }
  return merged
}

const IdByKey = Schema.Struct({ id: ConversationId, participant_key: Schema.String })

/** Conversations and their participant keys. The only place that knows the conversations table. */
export class ConversationStore extends Effect.Service<ConversationStore>()("twilio-mcp/ConversationStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const findOne = (execute: (value: string) => Effect.Effect<ReadonlyArray<unknown>, unknown>) => {
      const find = SqlSchema.findOne({ Request: Schema.String, Result: ConversationRow, execute })
      return (value: string) => find(value).pipe(Effect.map(Option.map(toConversation)), Effect.mapError(storageError("find conversation")))
    }
    const findById = findOne((id) => sql`SELECT * FROM conversations WHERE id = ${id}`)
    const findByKey = findOne((key) => sql`SELECT * FROM conversations WHERE participant_key = ${key}`)

    /** The ids of the threads with these participant keys (those that exist). */
    const idsByKeys = SqlSchema.findAll({
      Request: Schema.parseJson(Schema.Array(Schema.String)),
      Result: IdByKey,
      execute: (keys) => sql`SELECT id, participant_key FROM conversations WHERE participant_key IN (${jsonValues(sql, keys)})`
    })

    /**
     * Creates these threads, or, for a participant set that has one already (another process, or a webhook,
     * got there first), returns that one: concurrent writers always converge on one conversation per set.
     */
    const createMany = SqlSchema.findAll({
      Request: NewConversations,
      Result: ConversationRow,
      execute: (json) =>
        sql`
          INSERT INTO conversations (id, participant_key, participants, metadata, created_at, last_activity_at)
          SELECT id, key, participants, metadata, now, now
          FROM ${jsonTable(sql, json, "c", { id: "text", key: "text", participants: "text", metadata: "text", now: "text" })} WHERE true
          ON CONFLICT (participant_key) DO UPDATE SET participant_key = excluded.participant_key
          RETURNING *`
    })

    /** Moves each thread's last activity forward to its time (never back). */
    const touchMany = SqlSchema.void({
      Request: Schema.parseJson(Schema.Array(Schema.Struct({ id: Schema.String, at: Schema.String }))),
      execute: (touches) =>
        sql`
          UPDATE conversations SET last_activity_at = u.at
          FROM ${jsonTable(sql, touches, "u", { id: "text", at: "text" })}
          WHERE conversations.id = u.id AND conversations.last_activity_at < u.at`
    })

    /**
     * Most recently active threads first, each with its newest message and how many inbound messages a model
     * has not been shown (read markers). `before` is the last conversation of the previous page: (last
     * activity, id) orders threads active in the same millisecond too.
     */
    const recentPage = SqlSchema.findAll({
      Request: Schema.Struct({ limit: Schema.Number, before: Schema.optional(Schema.String), channel: Schema.optional(Channel) }),
      Result: RecentRow,
      execute: ({ before, channel, limit }) =>
        sql`
          SELECT c.*, m.sid AS last_sid, m.direction AS last_direction, m.from_address AS last_from,
                 m.body AS last_body, m.status AS last_status, m.created_at AS last_at,
                 (SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id AND u.direction = 'inbound'
                    AND u.id > COALESCE((SELECT message_id FROM read_markers WHERE scope = c.id), 0)) AS unread
          FROM conversations c
          LEFT JOIN messages m ON m.id = (
            SELECT id FROM messages WHERE conversation_id = c.id ORDER BY created_at DESC, id DESC LIMIT 1)
          WHERE ${
          sql.and([
            ...(before === undefined ? [] : [sql`(c.last_activity_at, c.id) < (SELECT last_activity_at, id FROM conversations WHERE id = ${before})`]),
            ...(channel === undefined ? [] : [sql`c.channel = ${channel}`])
          ])
        }
          ORDER BY c.last_activity_at DESC, c.id DESC
          LIMIT ${limit}`
    })
    const recent = (options: { readonly limit: number; readonly before?: string | undefined; readonly channel?: Channel | undefined }) =>
      Effect.gen(function*() {
        // A `before` naming no thread would page from nowhere: an empty page that looks like the end.
        if (options.before !== undefined && Option.isNone(yield* findById(options.before))) {
          return yield* new UnknownPageStart({ before: options.before })
        }
        const rows = yield* recentPage(options).pipe(Effect.mapError(storageError("list conversations")))
        return rows.map((row) => ({ ...toConversation(row), last: lastOf(row), unread: row.unread }))
      })

    /**
     * Merges `metadata` into a thread's (a later create_conversation for the same participants) as a JSON merge
     * patch (RFC 7396, SQLite's json_patch): objects merge key by key, null removes a key. Read and written
     * here, the same on either database: inside a write transaction.
     */
    const mergeMetadata = (id: string, metadata: Metadata) =>
      Effect.flatMap(findById(id), (found) =>
        Option.isNone(found) ? Effect.succeed(found) : sql`
          UPDATE conversations SET metadata = ${JSON.stringify(mergePatch(found.value.metadata ?? {}, metadata))} WHERE id = ${id}`.pipe(
          Effect.mapError(storageError("update conversation metadata")),
          Effect.zipRight(findById(id))
        ))

    return {
      findById,
      findByKey,
      idsByKeys: (keys: ReadonlyArray<string>) => idsByKeys(keys).pipe(Effect.mapError(storageError("find conversations"))),
      createMany: (conversations: ReadonlyArray<NewConversation>) =>
        conversations.length === 0 ? Effect.succeed([]) : createMany(conversations).pipe(
          Effect.map((rows) => rows.map(toConversation)),
          Effect.mapError(storageError("create conversation"))
        ),
      touchMany: (touches: ReadonlyArray<{ readonly id: string; readonly at: string }>) =>
        touches.length === 0 ? Effect.void : touchMany(touches).pipe(Effect.mapError(storageError("update conversation"))),
      recent,
      mergeMetadata
    } as const
  }),
  dependencies: [SqlLive]
}) {}
