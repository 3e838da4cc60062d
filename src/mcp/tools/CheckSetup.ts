import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { SetupCheck } from "../../messaging/SetupCheck.js"
import * as Tool from "../Tool.js"

export const checkSetup = Tool.make({
  name: "check_setup",
  description: "Check credentials, webhook URL, database and port.",
  // An empty Struct takes any object: each given key is refused by name, as every other tool does.
  input: Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
    Schema.filter((args) => {
      const [key] = Object.keys(args)
      return key === undefined || { path: [key], message: "is not a parameter of this tool" }
    }, { jsonSchema: { type: "object", properties: {}, additionalProperties: false } })
  ),
  output: Schema.Struct({
    ok: Schema.Boolean,
    checks: Schema.Array(Schema.Struct({ name: Schema.String, ok: Schema.Boolean, detail: Schema.String }))
  }),
  annotations: { title: "Check setup", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: () => Effect.flatMap(SetupCheck, (s) => s.run)
})
