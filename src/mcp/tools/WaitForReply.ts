import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { conversationIdParameter } from "../../domain/Conversation.js"
import { Message } from "../../domain/Message.js"
import { timestampParameter } from "../../domain/Time.js"
import { Replies } from "../../messaging/Replies.js"
import { Progress } from "../Progress.js"
import { address } from "../Parameters.js"
import * as Tool from "../Tool.js"

export const waitForReply = Tool.make({
  name: "wait_for_reply",
  description: "Wait for a reply in a thread (or from a number) not yet returned: reply, or timeout (call again).",
  input: Schema.Struct({
    conversationId: Schema.optional(conversationIdParameter("Thread to wait on")),
    from: Schema.optional(address.annotations({ description: "Or: sender to wait for" })),
    timeoutSeconds: Schema.optionalWith(
      Schema.Number.pipe(
        Schema.int({ message: () => "must be a whole number of seconds" }),
        Schema.between(1, 50, { message: () => "must be between 1 and 50 (clients time out at ~60 s)" })
      ).annotations({ description: "Default 45" }),
      { default: () => 45 }
    ),
    since: Schema.optional(timestampParameter("A previous result's since, or an ISO time; default: replies not yet returned"))
  }).pipe(
    Schema.filter((i) =>
      (i.conversationId === undefined) !== (i.from === undefined) || { path: ["conversationId"], message: "give exactly one of conversationId or from" }
    )
  ),
  output: Schema.Struct({
    status: Schema.Literal("reply", "timeout"),
    conversationId: Schema.NullOr(Schema.String),
    messages: Schema.Array(Message),
    since: Schema.String,
    note: Schema.optional(Schema.String)
  }),
  annotations: { title: "Wait for reply", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input) =>
    Effect.gen(function*() {
      const progress = yield* Progress
      const replies = yield* Replies
      return yield* replies.awaitReply(input, (waited) =>
        progress.report(waited, input.timeoutSeconds, `waiting for a reply (${waited}s of ${input.timeoutSeconds}s)`))
    })
})
