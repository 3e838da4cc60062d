import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Channel, channelNumberParameter } from "../../domain/Address.js"
import { ContentSid } from "../../domain/Template.js"
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
  channel: Channel,
  conversationId: Schema.NullOr(Schema.String),
  timestamp: Schema.String,
  windowOpenUntil: Schema.optional(Schema.NullOr(Schema.String)),
  segments: Schema.Number,
  encoding: Schema.String,
  nonGsmCharacters: Schema.optional(Schema.Array(Schema.String)),
  dryRun: Schema.optional(Schema.Boolean),
  replayed: Schema.optional(Schema.Boolean),
  warning: Schema.optional(Schema.String)
})

export const sendSms = Tool.make({
  name: "send_sms",
  description: "Send SMS/MMS or WhatsApp via Twilio; stored, threaded. dryRun previews without sending.",
  input: Schema.Struct({
    to: channelNumberParameter("E.164 or whatsapp:+E.164"),
    message: Schema.optional(text(1600).annotations({ description: "Text" })),
    from: Schema.optional(channelNumberParameter("Your sender; default: the configured one")),
    conversationId: Schema.optional(conversationIdParameter("Existing thread; must include to")),
    mediaUrls: Schema.optional(
      Schema.Array(MediaUrl).pipe(Schema.maxItems(10, { message: () => "at most 10 media URLs" })).annotations({
        description: "MMS media URLs"
      })
    ),
    dryRun: Schema.optional(Schema.Boolean.annotations({ description: "Preview only" })),
    idempotencyKey: Schema.optional(text(200).annotations({ description: "Same key, same message: sent once" })),
    contentSid: Schema.optional(ContentSid.annotations({ description: "Template (list_templates), not message" })),
    contentVariables: Schema.optional(
      Schema.Record({ key: text(64), value: text(1024) }).annotations({
        jsonSchema: { type: "object", additionalProperties: { type: "string" }, description: "Its variables: {\"1\":\"Ada\"}" }
      })
    )
  }).pipe(
    Schema.filter((i) =>
      (i.message === undefined) !== (i.contentSid === undefined) || { path: ["message"], message: "give exactly one of message or contentSid" }
    )
  ),
  output: SendSmsOutput,
  annotations: {
    title: "Send message",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true
  },
  handler: ({ dryRun, ...input }) =>
    Effect.flatMap(Sending, (m): Effect.Effect<typeof SendSmsOutput.Type, ToolFailure> =>
      dryRun ? m.preview(input) : m.send(input))
})
