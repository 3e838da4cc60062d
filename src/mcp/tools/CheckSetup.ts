import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { SetupCheck } from "../../messaging/SetupCheck.js"
import { noParameters } from "../Parameters.js"
import * as Tool from "../Tool.js"

export const checkSetup = Tool.make({
  name: "check_setup",
  description: "Check credentials, webhook URL, database and port.",
  input: noParameters,
  output: Schema.Struct({
    ok: Schema.Boolean,
    checks: Schema.Array(Schema.Struct({ name: Schema.String, ok: Schema.Boolean, detail: Schema.String }))
  }),
  annotations: { title: "Check setup", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: () => Effect.flatMap(SetupCheck, (s) => s.run)
})
