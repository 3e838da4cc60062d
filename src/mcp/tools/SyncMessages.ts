import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { CatchUp } from "../../messaging/CatchUp.js"
import * as Tool from "../Tool.js"

export const syncMessages = Tool.make({
  name: "sync_messages",
  description: "Fetch from Twilio inbound messages and statuses missed while webhooks were down.",
  input: Schema.Struct({
    lookbackHours: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 720, { message: () => "must be between 1 and 720" })).annotations({ description: "Default 24" }), {
      default: () => 24
    })
  }),
  output: Schema.Struct({
    since: Schema.String,
    inboundFound: Schema.Number,
    inboundStored: Schema.Number,
    statusesChecked: Schema.Number,
    statusesAdvanced: Schema.Number
  }),
  annotations: { title: "Sync messages", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: (input) => Effect.flatMap(CatchUp, (c) => c.sync(input.lookbackHours))
})
