import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { MessageSid } from "../../domain/Message.js"
import { Delivery } from "../../messaging/Delivery.js"
import * as Tool from "../Tool.js"

export const getMessageStatus = Tool.make({
  name: "get_message_status",
  description: "Delivery status, live from Twilio (else the last stored one, with a note).",
  input: Schema.Struct({ messageSid: MessageSid.annotations({ description: "The SID send_sms returned (SM… or MM…)" }) }),
  output: Schema.Struct({
    messageSid: Schema.String,
    status: Schema.String,
    timestamp: Schema.String,
    to: Schema.String,
    from: Schema.optional(Schema.String),
    errorCode: Schema.optional(Schema.Number),
    errorMessage: Schema.optional(Schema.String),
    note: Schema.optional(Schema.String)
  }),
  annotations: {
    title: "Get message status",
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true
  },
  handler: (input) => Effect.flatMap(Delivery, (d) => d.status(input.messageSid))
})
