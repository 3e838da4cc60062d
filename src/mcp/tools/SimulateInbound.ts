import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type Address, PhoneNumber } from "../../domain/Address.js"
import { AppConfig } from "../../config/AppConfig.js"
import { randomSid } from "../../domain/Message.js"
import { Ingest } from "../../messaging/Ingest.js"
import { text } from "../Parameters.js"
import * as Tool from "../Tool.js"

/** Sandbox only: a reply "arrives" through the same path as a webhook-delivered message. */
export const simulateInbound = Tool.make({
  name: "simulate_inbound",
  description: "Sandbox: receive a text from this number.",
  input: Schema.Struct({
    from: PhoneNumber.annotations({ description: "Sender, E.164" }),
    body: text(1600).annotations({ description: "Text" })
  }),
  output: Schema.Struct({ messageSid: Schema.String, conversationId: Schema.NullOr(Schema.String) }),
  annotations: { title: "Simulate inbound SMS", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: (input) =>
    Effect.gen(function*() {
      const config = yield* AppConfig
      const ingest = yield* Ingest
      const sid = yield* randomSid("SM")
      const result = yield* ingest.inbound({
        sid,
        from: input.from as string as Address,
        to: (config.phoneNumber ?? "") as string as Address,
        body: input.body,
        media: [],
        extra: { Source: "sandbox" }
      })
      return { messageSid: sid, conversationId: result.conversationId }
    })
})
