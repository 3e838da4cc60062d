import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ConversationId } from "../../domain/Conversation.js"
import { Conversations } from "../../messaging/Conversations.js"
import { wholeNumber } from "../Parameters.js"
import * as Tool from "../Tool.js"

export const listConversations = Tool.make({
  name: "list_conversations",
  description: "Threads, newest activity first, with the last message, unread count and awaitingReply.",
  input: Schema.Struct({
    limit: wholeNumber(1, 200, 20, "Threads per page"),
    before: Schema.optional(
      ConversationId.annotations({
        // override: also when the value is not a UUID at all, which is the inner check's own failure.
        message: () => ({ message: "must be the before value a previous list_conversations result returned", override: true }),
        jsonSchema: { type: "string", description: "The previous page's before, to list older threads" }
      })
    )
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
      unread: Schema.Number,
      awaitingReply: Schema.Boolean
    })),
    before: Schema.optional(Schema.String)
  }),
  annotations: { title: "List conversations", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input) => Effect.flatMap(Conversations, (c) => c.conversations(input))
})
