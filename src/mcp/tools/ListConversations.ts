import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ConversationId } from "../../domain/Conversation.js"
import { Messaging } from "../../messaging/Messaging.js"
import * as Tool from "../Tool.js"

export const listConversations = Tool.make({
  name: "list_conversations",
  description: "Threads, most recent first, with the last message and awaitingReply (last message inbound).",
  input: Schema.Struct({
    limit: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 200, { message: () => "must be between 1 and 200" })).annotations({ description: "Default 20" }), {
      default: () => 20
    }),
    before: Schema.optional(ConversationId.annotations({ description: "Previous result's before" }))
  }),
  output: Schema.Struct({
    conversations: Schema.Array(Schema.Struct({
      conversationId: Schema.String,
      participants: Schema.Array(Schema.String),
      lastActivity: Schema.String,
      lastMessage: Schema.optional(Schema.Struct({
        messageSid: Schema.String,
        direction: Schema.String,
        from: Schema.String,
        body: Schema.String,
        status: Schema.String,
        timestamp: Schema.String,
        untrusted: Schema.optional(Schema.Literal(true))
      })),
      awaitingReply: Schema.Boolean
    })),
    before: Schema.optional(Schema.String)
  }),
  annotations: { title: "List conversations", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input) => Effect.flatMap(Messaging, (m) => m.conversations(input))
})
