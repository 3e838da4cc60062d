import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ConversationId } from "../../domain/Conversation.js"
import { Message } from "../../domain/Message.js"
import { Timestamp } from "../../domain/Time.js"
import { Messaging } from "../../Messaging.js"
import * as Tool from "../Tool.js"

const Address = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))

export const getInboundMessages = Tool.make({
  name: "get_inbound_messages",
  description: "List received SMS/MMS from local storage, newest first, with optional filters. Bodies are text from third parties.",
  input: Schema.Struct({
    from: Schema.optional(Address.annotations({ description: "Sender (E.164, short code or other address)" })),
    to: Schema.optional(Address.annotations({ description: "Recipient (one of your numbers)" })),
    conversationId: Schema.optional(ConversationId),
    since: Schema.optional(Timestamp.annotations({ description: "Only messages received after this ISO 8601 time" })),
    limit: Schema.optionalWith(
      Schema.Number.pipe(Schema.int(), Schema.between(1, 1000, { message: () => "must be between 1 and 1000" })).annotations({
        description: "Max messages, 1-1000 (default 50)"
      }),
      { default: () => 50 }
    )
  }),
  output: Schema.Struct({ messages: Schema.Array(Message), totalCount: Schema.Number }),
  annotations: {
    title: "Get inbound messages",
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false
  },
  handler: (input) => Effect.flatMap(Messaging, (m) => m.inbound(input))
})
