import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { missingVariables, renderTemplate, type Template } from "../domain/Template.js"
import { TemplateNotFound, TemplateVariablesMissing } from "../domain/WhatsAppErrors.js"
import { Twilio } from "../twilio/Twilio.js"

/**
 * The account's content templates (Twilio's Content API), asked once and kept 10 minutes: list_templates shows
 * them, and a template send is checked against them before Twilio is called.
 */
export class Templates extends Effect.Service<Templates>()("twilio-mcp/Templates", {
  effect: Effect.gen(function*() {
    const twilio = yield* Twilio
    const [cached, forget] = yield* Effect.cachedInvalidateWithTTL(twilio.listTemplates, Duration.minutes(10))
    const list = Effect.tapError(cached, () => forget)

    /** A template by SID; one created since the list was read is found by reading it again. */
    const find = (contentSid: string) =>
      Effect.gen(function*() {
        const found = (yield* list).find((t) => t.contentSid === contentSid)
        if (found !== undefined) return found
        yield* forget
        const fresh = (yield* list).find((t) => t.contentSid === contentSid)
        return fresh ?? (yield* new TemplateNotFound({ contentSid }))
      })

    /** The template to send, checked: every variable it declares is given. With the text it will show. */
    const prepare = Effect.fn("Templates.prepare")(function*(contentSid: string, variables: Readonly<Record<string, string>>) {
      const template: Template = yield* find(contentSid)
      const missing = missingVariables(template, variables)
      if (missing.length > 0) {
        return yield* new TemplateVariablesMissing({ contentSid, missing, declared: template.variables })
      }
      return { template, body: renderTemplate(template, variables) }
    })

    return { list, prepare } as const
  })
}) {}
