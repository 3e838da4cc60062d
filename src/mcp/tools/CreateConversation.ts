import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { PhoneNumber } from "../../domain/Address.js"
import { Metadata } from "../../domain/Conversation.js"
import { Conversations } from "../../messaging/Conversations.js"
import * as Tool from "../Tool.js"

export const createConversation = Tool.make({
  name: "create_conversation",
  description: "Create a thread for these participants, or return the existing one (alreadyExisted).",
  input: Schema.Struct({
    participants: Schema.Array(PhoneNumber).pipe(
      Schema.minItems(2, { message: () => "needs at least 2 phone numbers" }),
      Schema.maxItems(20, { message: () => "takes at most 20 phone numbers" }),
      // The (empty) jsonSchema makes the description reach tools/list: a bare filter has no JSON Schema of its own.
      Schema.filter((ps) => new Set(ps).size === ps.length || "must not repeat a phone number", {
        jsonSchema: {},
        description: "2–20 distinct E.164 numbers, yours included"
      })
    ),
    metadata: Schema.optional(Metadata.annotations({ description: "Any JSON object" }))
  }),
  output: Schema.Struct({
    conversationId: Schema.String,
    participants: Schema.Array(Schema.String),
    createdAt: Schema.String,
    metadata: Metadata,
    alreadyExisted: Schema.Boolean
  }),
  annotations: {
    title: "Create conversation",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false
  },
  handler: (input) => Effect.flatMap(Conversations, (c) => c.createConversation(input.participants, input.metadata))
})
