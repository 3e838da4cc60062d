import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { conversationIdParameter } from "../../domain/Conversation.js"
import { Message } from "../../domain/Message.js"
import { Conversations } from "../../messaging/Conversations.js"
import { address, text, wholeNumber } from "../Parameters.js"
import * as Tool from "../Tool.js"

export const searchMessages = Tool.make({
  name: "search_messages",
  description: "Full-text search of message bodies (all words): the newest 500 matches, best first.",
  input: Schema.Struct({
    query: text(500).annotations({ description: "Words, all of which must match" }),
    from: Schema.optional(address.annotations({ description: "Sender" })),
    conversationId: Schema.optional(conversationIdParameter("Thread id")),
    limit: wholeNumber(1, 200, 20, "Messages")
  }),
  output: Schema.Struct({ messages: Schema.Array(Message) }),
  annotations: { title: "Search messages", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input) => Effect.flatMap(Conversations, (c) => c.search(input))
})
