import * as Schema from "effect/Schema"

/**
 * Building blocks of tool parameters. Every check carries its own words, so a bad argument is answered with
 * what to send instead (test/unit/Bridge.test.ts walks every tool's schema for a check without them).
 */

/** A whole number in [min, max]; omitted, `fallback`. */
export const wholeNumber = (min: number, max: number, fallback: number, description: string) =>
  Schema.optionalWith(
    Schema.Number.pipe(
      Schema.int({ message: () => `must be a whole number from ${min} to ${max}` }),
      Schema.between(min, max, { message: () => `must be between ${min} and ${max}` })
    ).annotations({ description: `${description}; default ${fallback}` }),
    { default: () => fallback }
  )

/**
 * Non-empty text of at most `max` characters. The minimum is left out of the JSON Schema (`jsonSchema: {}`): a
 * model does not send empty text, and tools/list must stay under 8 KB.
 */
export const text = (max: number) =>
  Schema.String.pipe(
    Schema.minLength(1, { message: () => "must not be empty", jsonSchema: {} }),
    Schema.maxLength(max, { message: () => `must be at most ${max} characters` })
  )

/** An address as Twilio gives it (E.164, short code, alphanumeric ID, whatsapp:+…). */
export const address = text(128)

/** A tool without parameters. An empty Struct takes any object: each given key is refused by name, as every other tool does. */
export const noParameters = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
  Schema.filter((args) => {
    const [key] = Object.keys(args)
    return key === undefined || { path: [key], message: "is not a parameter of this tool" }
  }, { jsonSchema: { type: "object", properties: {}, additionalProperties: false } })
)
