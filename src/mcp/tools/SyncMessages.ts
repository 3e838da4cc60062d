import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { CATCH_UP_HOURS, CatchUp } from "../../messaging/CatchUp.js"
import { wholeNumber } from "../Parameters.js"
import * as Tool from "../Tool.js"

export const syncMessages = Tool.make({
  name: "sync_messages",
  description: "Fetch inbound messages and statuses missed while webhooks were down.",
  input: Schema.Struct({
    lookbackHours: wholeNumber(1, 720, CATCH_UP_HOURS, "Hours back")
  }),
  output: Schema.Struct({
    since: Schema.String,
    inboundFound: Schema.Number,
    inboundStored: Schema.Number,
    statusesChecked: Schema.Number,
    statusesAdvanced: Schema.Number,
    failed: Schema.optional(Schema.Struct({
      count: Schema.Number,
      first: Schema.Array(Schema.Struct({ messageSid: Schema.String, error: Schema.String }))
    }))
  }),
  annotations: { title: "Sync messages", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: (input) => Effect.flatMap(CatchUp, (c) => c.sync(input.lookbackHours))
})
