import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Direction, Media, type Message, MessageStatus } from "../domain/Message.js"
import { twilioErrorText } from "../domain/TwilioErrorAdvice.js"
import { storageError } from "./Database.js"

/** A stored message as the stores read it, and as a model is shown it. */
export const MessageRow = Schema.Struct({
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

export const toMessage = (row: MessageRow): Message => ({
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

/** A query's rows decoded as messages; a failure is a StorageError naming `operation`. */
export const decodeMessageRows = (query: Effect.Effect<ReadonlyArray<unknown>, unknown>, operation: string) =>
  query.pipe(Effect.flatMap(decodeRows), Effect.mapError(storageError(operation)))

/** Newest first, as the indexes order messages: by time, then by insertion. */
export const newestFirst = (a: MessageRow, b: MessageRow) => a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id

export const messageColumns = "id, sid, conversation_id, direction, from_address, to_address, body, status, error_code, error_message, num_segments, media, created_at"

/** A message's read-marker scope: its thread, or its sender when it was stored without one. */
export const readScope = (row: { readonly conversation_id: string | null; readonly from_address: string }) =>
  row.conversation_id ?? `from:${row.from_address}`

export interface ReadMark {
  readonly scope: string
  readonly messageId: number
}

/** What showing these messages to a model marks read: per scope, the highest inbound id among them. */
export const readMarks = (rows: ReadonlyArray<MessageRow>): ReadonlyArray<ReadMark> => {
  const highest = new Map<string, number>()
  for (const row of rows) {
    if (row.direction !== "inbound") continue
    const scope = readScope(row)
    if ((highest.get(scope) ?? 0) < row.id) highest.set(scope, row.id)
  }
  return Array.from(highest, ([scope, messageId]) => ({ scope, messageId }))
}
