import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { PhoneNumber } from "../../domain/Address.js"
import { ConversationId } from "../../domain/Conversation.js"
import { Messaging } from "../../Messaging.js"
import * as Tool from "../Tool.js"

const MediaUrl = Schema.String.pipe(
  Schema.pattern(/^https?:\/\/\S+$/, { message: () => "must be an http(s) URL" }),
  Schema.maxLength(2048)
)

export const sendSms = Tool.make({
  name: "send_sms",
  description: "Send an SMS (or MMS with mediaUrls) via Twilio. The message is stored and threaded with the recipient automatically.",
  input: Schema.Struct({
    to: PhoneNumber.annotations({ description: "Recipient, E.164 (e.g. +15551234567)" }),
    message: Schema.String.pipe(
      Schema.minLength(1, { message: () => "must not be empty" }),
      Schema.maxLength(1600, { message: () => "must be at most 1600 characters" })
    ).annotations({ description: "Text, 1-1600 characters" }),
    from: Schema.optional(PhoneNumber.annotations({ description: "Sender; defaults to the configured number" })),
    conversationId: Schema.optional(ConversationId.annotations({ description: "Existing conversation to link to; must include 'to'" })),
    mediaUrls: Schema.optional(
      Schema.Array(MediaUrl).pipe(Schema.maxItems(10, { message: () => "at most 10 media URLs" })).annotations({
        description: "Public http(s) media URLs for MMS (max 10)"
      })
    )
  }),
  output: Schema.Struct({
    messageSid: Schema.String,
    status: Schema.String,
    to: Schema.String,
    from: Schema.String,
    conversationId: Schema.NullOr(Schema.String),
    timestamp: Schema.String,
    numSegments: Schema.optional(Schema.Number),
    warning: Schema.optional(Schema.String)
  }),
  annotations: {
    title: "Send SMS",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true
  },
  handler: (input) => Effect.flatMap(Messaging, (m) => m.send(input))
})
