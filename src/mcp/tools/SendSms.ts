import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { PhoneNumber } from "../../domain/Address.js"
import { conversationIdParameter } from "../../domain/Conversation.js"
import { Sending } from "../../messaging/Sending.js"
import { text } from "../Parameters.js"
import * as Tool from "../Tool.js"
import type { ToolFailure } from "../Tool.js"

const MediaUrl = Schema.String.pipe(
  Schema.pattern(/^https?:\/\/\S+$/, { message: () => "must be an http(s) URL" }),
  Schema.maxLength(2048, { message: () => "must be at most 2048 characters" })
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
    message: text(1600).annotations({ description: "Text" }),
    from: Schema.optional(PhoneNumber.annotations({ description: "One of your numbers; default: the configured one" })),
    conversationId: Schema.optional(conversationIdParameter("Existing thread; must include to")),
    mediaUrls: Schema.optional(
      Schema.Array(MediaUrl).pipe(Schema.maxItems(10, { message: () => "at most 10 media URLs" })).annotations({
        description: "MMS media URLs"
      })
    ),
    dryRun: Schema.optional(Schema.Boolean.annotations({ description: "Preview only" })),
    idempotencyKey: Schema.optional(text(200).annotations({ description: "Same key, same message: sent once" }))
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
    Effect.flatMap(Sending, (m): Effect.Effect<typeof SendSmsOutput.Type, ToolFailure> =>
      dryRun ? m.preview(input) : m.send(input))
})
