import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ConversationId } from "../../domain/Conversation.js"
import { Message } from "../../domain/Message.js"
import { Timestamp } from "../../domain/Time.js"
import { Messaging } from "../../messaging/Messaging.js"
import { Progress } from "../Progress.js"
import * as Tool from "../Tool.js"

export const waitForReply = Tool.make({
  name: "wait_for_reply",
  description: "Wait for a new inbound text in a thread (or from a number): reply, or timeout (call again). Pass the returned since for the next.",
  input: Schema.Struct({
    conversationId: Schema.optional(ConversationId),
    from: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)).annotations({ description: "Sender" })),
    timeoutSeconds: Schema.optionalWith(
      Schema.Number.pipe(Schema.int(), Schema.between(1, 50, { message: () => "must be between 1 and 50 (clients time out at ~60 s)" })).annotations({
        description: "Default 45"
      }),
      { default: () => 45 }
    ),
    since: Schema.optional(Timestamp.annotations({ description: "Default: last sent message" }))
  }).pipe(
    Schema.filter((i) =>
      (i.conversationId === undefined) !== (i.from === undefined) || { path: ["conversationId"], message: "give exactly one of conversationId or from" }
    )
  ),
  output: Schema.Struct({
    status: Schema.Literal("reply", "timeout"),
    conversationId: Schema.NullOr(Schema.String),
    messages: Schema.Array(Message),
    since: Schema.String
  }),
  annotations: { title: "Wait for reply", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input) =>
    Effect.gen(function*() {
      const progress = yield* Progress
      const messaging = yield* Messaging
      return yield* messaging.awaitReply(input, (waited) =>
        progress.report(waited, input.timeoutSeconds, `waiting for a reply (${waited}s of ${input.timeoutSeconds}s)`))
    })
})
