import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Template } from "../../domain/Template.js"
import { Templates } from "../../messaging/Templates.js"
import { noParameters } from "../Parameters.js"
import * as Tool from "../Tool.js"

export const listTemplates = Tool.make({
  name: "list_templates",
  description: "Templates for WhatsApp outside the 24 h window: approval, variables.",
  input: noParameters,
  output: Schema.Struct({ templates: Schema.Array(Template) }),
  annotations: { title: "List templates", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: () => Effect.flatMap(Templates, (t) => Effect.map(t.list, (templates) => ({ templates })))
})
