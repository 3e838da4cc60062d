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

/** A time of day without a zone designator: read as UTC, the one rule for every time a tool takes. */
const NO_ZONE = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/

/** A message's place in the order messages are read: its time, and its id for those stored in the same millisecond. */
export const cursorOf = (at: string, id: number) => `${at}#${id}`

/** The time and tiebreak of a cursor (`…Z#17`), or of a plain time (no tiebreak). */
export const parseCursor = (since: string): { readonly at: string; readonly id: number | undefined } => {
  const [at, id] = since.split("#")
  return { at: at!, id: id === undefined ? undefined : Number(id) }
}

/**
 * A time from a client: ISO 8601, normalized to UTC with milliseconds so it compares with stored times; a time
 * without a zone is UTC. A cursor a previous result returned (`2025-01-15T10:30:00.000Z#17`) is accepted as is.
 */
export const Timestamp = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (s, _, ast) => {
    const cursor = /^(.+)#(\d{1,15})$/.exec(s)
    const time = cursor === null ? s.trim() : cursor[1]!
    const iso = /^\d{4}-\d{2}-\d{2}/.test(time) ? toIso(NO_ZONE.test(time) ? `${time}Z` : time) : undefined
    return iso === undefined
      ? ParseResult.fail(
        new ParseResult.Type(ast, s, `must be an ISO 8601 time such as 2025-01-15T10:30:00Z (no zone means UTC), or a since a previous result returned (got "${s}")`)
      )
      : ParseResult.succeed(cursor === null ? iso : cursorOf(iso, Number(cursor[2])))
  },
  encode: ParseResult.succeed
})

/** Timestamp as a tool parameter, with `description` for the model. */
export const timestampParameter = (description: string) => Timestamp.annotations({ jsonSchema: { type: "string", description } })
