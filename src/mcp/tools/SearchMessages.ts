import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ConversationId } from "../../domain/Conversation.js"
import { Message } from "../../domain/Message.js"
import { Messaging } from "../../messaging/Messaging.js"
import * as Tool from "../Tool.js"

export const searchMessages = Tool.make({
  name: "search_messages",
  description: "Full-text search of message bodies (all words): the newest 500 matches, best first.",
  input: Schema.Struct({
    query: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(500)).annotations({ description: "Words" }),
    from: Schema.optional(Schema.String.pipe(Schema.maxLength(128)).annotations({ description: "Sender" })),
    conversationId: Schema.optional(ConversationId),
    limit: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 200, { message: () => "must be between 1 and 200" })).annotations({ description: "Default 20" }), {
      default: () => 20
    })
  }),
  output: Schema.Struct({ messages: Schema.Array(Message) }),
  annotations: { title: "Search messages", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input) => Effect.flatMap(Messaging, (m) => m.search(input))
})
