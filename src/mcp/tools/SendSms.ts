import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { PhoneNumber } from "../../domain/Address.js"
import { ConversationId } from "../../domain/Conversation.js"
import { Messaging } from "../../messaging/Messaging.js"
import * as Tool from "../Tool.js"
import type { ToolFailure } from "../Tool.js"

const MediaUrl = Schema.String.pipe(
  Schema.pattern(/^https?:\/\/\S+$/, { message: () => "must be an http(s) URL" }),
  Schema.maxLength(2048)
)

const SendSmsOutput = Schema.Struct({
  messageSid: Schema.optional(Schema.String),
  status: Schema.String,
  to: Schema.String,
  from: Schema.String,
  conversationId: Schema.NullOr(Schema.String),
  timestamp: Schema.String,
  segments: Schema.Number,
  encoding: Schema.String,
  nonGsmCharacters: Schema.optional(Schema.Array(Schema.String)),
  dryRun: Schema.optional(Schema.Boolean),
  replayed: Schema.optional(Schema.Boolean),
  warning: Schema.optional(Schema.String)
})

export const sendSms = Tool.make({
  name: "send_sms",
  description: "Send an SMS/MMS via Twilio; stored and threaded. dryRun previews segments without sending.",
  input: Schema.Struct({
    to: PhoneNumber.annotations({ description: "E.164, e.g. +15551234567" }),
    message: Schema.String.pipe(
      Schema.minLength(1, { message: () => "must not be empty" }),
      Schema.maxLength(1600, { message: () => "must be at most 1600 characters" })
    ).annotations({ description: "Text" }),
    from: Schema.optional(PhoneNumber.annotations({ description: "Default: the configured number" })),
    conversationId: Schema.optional(ConversationId.annotations({ description: "Existing thread; must include to" })),
    mediaUrls: Schema.optional(
      Schema.Array(MediaUrl).pipe(Schema.maxItems(10, { message: () => "at most 10 media URLs" })).annotations({
        description: "MMS media URLs"
      })
    ),
    dryRun: Schema.optional(Schema.Boolean.annotations({ description: "Preview only" })),
    idempotencyKey: Schema.optional(
      Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
        description: "Same key never sends twice"
      })
    )
  }),
  output: SendSmsOutput,
  annotations: {
    title: "Send SMS",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true
  },
  handler: ({ dryRun, ...input }) =>
    Effect.flatMap(Messaging, (m): Effect.Effect<typeof SendSmsOutput.Type, ToolFailure> =>
      dryRun ? m.preview(input) : m.send(input))
})
