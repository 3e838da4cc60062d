import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** Now as ISO-8601 UTC, through Effect's Clock so tests control it. */
export const nowIso = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

/** Twilio's RFC-2822 dates ("Mon, 16 Jan 2025 10:30:00 +0000") as ISO, or undefined when unparsable. */
export const toIso = (date: Date | string | null | undefined): string | undefined => {
  if (date === null || date === undefined) return undefined
  const d = typeof date === "string" ? new Date(date) : date
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
}

/** An ISO-8601 timestamp from a client, normalized to UTC with milliseconds so it compares with stored times. */
export const Timestamp = Schema.transformOrFail(
  Schema.String.pipe(Schema.annotations({ description: "ISO 8601 timestamp, e.g. 2025-01-15T10:30:00Z" })),
  Schema.String,
  {
    strict: true,
    decode: (s, _, ast) => {
      const iso = /^\d{4}-\d{2}-\d{2}/.test(s) ? toIso(s) : undefined
      return iso === undefined
        ? ParseResult.fail(new ParseResult.Type(ast, s, `must be an ISO 8601 timestamp such as 2025-01-15T10:30:00Z (got "${s}")`))
        : ParseResult.succeed(iso)
    },
    encode: ParseResult.succeed
  }
)
