import * as Schema from "effect/Schema"

/** A Content API template's SID: HX + 32 hex. */
export const ContentSid = Schema.String.pipe(
  Schema.pattern(/^HX[0-9a-fA-F]{32}$/, {
    message: () => "must be a content template SID: HX followed by 32 hex characters (see list_templates)"
  }),
  Schema.brand("ContentSid")
)
export type ContentSid = typeof ContentSid.Type

/** A content template as list_templates shows it: what it says, what it needs, and whether WhatsApp approved it. */
export const Template = Schema.Struct({
  contentSid: Schema.String,
  name: Schema.String,
  language: Schema.String,
  /** Its text, with `{{1}}`-style placeholders, when it has one. */
  body: Schema.optional(Schema.String),
  /** Every variable it declares: each must be given to send it. */
  variables: Schema.Array(Schema.String),
  /** WhatsApp's review: approved, pending, rejected… (absent: never submitted, it cannot go out on WhatsApp). */
  whatsapp: Schema.optional(Schema.Struct({
    status: Schema.String,
    category: Schema.optional(Schema.String),
    rejectionReason: Schema.optional(Schema.String)
  }))
})
export type Template = typeof Template.Type

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g

/** The variables a template declares: its `variables` keys and the placeholders of its content. */
export const declaredVariables = (variables: Record<string, unknown>, types: Record<string, unknown>): ReadonlyArray<string> =>
  Array.from(new Set([...Object.keys(variables), ...Array.from(JSON.stringify(types).matchAll(PLACEHOLDER), (m) => m[1]!)]))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))

/** The text of a template's first content type that has a body (twilio/text, twilio/media, quick replies…). */
export const templateBody = (types: Record<string, unknown>): string | undefined => {
  for (const type of Object.values(types)) {
    const body = (type as { body?: unknown } | null)?.body
    if (typeof body === "string") return body
  }
  return undefined
}

/** The template's text with the variables put in: what is stored as the message's body. */
export const renderTemplate = (template: Template, values: Readonly<Record<string, string>>): string =>
  (template.body ?? `[template ${template.name}]`).replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole)

/** The declared variables not given. */
export const missingVariables = (template: Template, values: Readonly<Record<string, string>>): ReadonlyArray<string> =>
  template.variables.filter((name) => values[name] === undefined)
