import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import { Address, Channel } from "./Address.js"
import { ConversationId } from "./Conversation.js"

export const MessageSid = Schema.String.pipe(
  Schema.pattern(/^(SM|MM)[0-9a-fA-F]{32}$/, {
    message: () => "must be a Twilio message SID: SM or MM followed by 32 hex characters"
  }),
  Schema.brand("MessageSid")
)
export type MessageSid = typeof MessageSid.Type

export const MessageStatus = Schema.Literal(
  "accepted",
  "scheduled",
  "queued",
  "sending",
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "canceled",
  "partially_delivered",
  "read",
  "receiving",
  "received"
)
export type MessageStatus = typeof MessageStatus.Type

/**
 * Twilio's status order. A message's status only moves to a higher rank: a late `sent` callback never
 * replaces `delivered`, and a terminal status (rank 4) is never replaced by a lower one.
 */
export const statusRank: Record<MessageStatus, number> = {
  accepted: 0,
  scheduled: 0,
  queued: 1,
  sending: 2,
  receiving: 2,
  sent: 3,
  received: 4,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  canceled: 4,
  partially_delivered: 4,
  read: 5
}

export const Direction = Schema.Literal("inbound", "outbound")
export type Direction = typeof Direction.Type

export const Media = Schema.Struct({
  url: Schema.String,
  contentType: Schema.optional(Schema.String)
})
export type Media = typeof Media.Type

/** A stored message as tools return it. */
export const Message = Schema.Struct({
  messageSid: Schema.String,
  direction: Direction,
  channel: Channel,
  from: Schema.String,
  /** A WhatsApp sender's own name for themselves (Twilio's ProfileName): third-party text, like the body. */
  profileName: Schema.optional(Schema.String),
  to: Schema.String,
  body: Schema.String,
  status: Schema.String,
  timestamp: Schema.String,
  conversationId: Schema.NullOr(Schema.String),
  errorCode: Schema.optional(Schema.Number),
  errorMessage: Schema.optional(Schema.String),
  numSegments: Schema.optional(Schema.Number),
  media: Schema.optional(Schema.Array(Media)),
  untrusted: Schema.optional(Schema.Literal(true))
})
export type Message = typeof Message.Type

/** What is written for a message, inbound or outbound. */
export interface NewMessage {
  readonly sid: MessageSid | string
  readonly direction: Direction
  readonly from: Address
  readonly to: Address
  readonly body: string
  readonly status: MessageStatus
  readonly conversationId: ConversationId | null
  readonly errorCode?: number | undefined
  readonly errorMessage?: string | undefined
  readonly numSegments?: number | undefined
  readonly media?: ReadonlyArray<Media> | undefined
  readonly messagingServiceSid?: string | undefined
  readonly twilioCreatedAt?: string | undefined
  /** When it was sent or received, if not now (messages caught up from Twilio later). */
  readonly createdAt?: string | undefined
  readonly extra?: Record<string, string> | undefined
}

/** A Twilio-shaped SID (prefix + 32 hex) from Effect's Random: for the in-memory Twilio and the sandbox. */
export const randomSid = (prefix: string) =>
  Effect.map(
    Effect.all(Array.from({ length: 8 }, () => Random.nextIntBetween(0, 0x10000))),
    (parts) => prefix + parts.map((n) => n.toString(16).padStart(4, "0")).join("")
  )
