import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Address } from "../domain/Address.js"
import type { Media } from "../domain/Message.js"
import { MessageStatus } from "../domain/Message.js"

/** A urlencoded form as posted: a repeated key gives an array, which single-valued fields reject. */
export type Form = Readonly<Record<string, string | ReadonlyArray<string>>>

/**
 * The form of parsed parameters (a body, or a GET's query). Without a prototype, so that a parameter named
 * `__proto__`, `constructor` or `toString` is data like any other, as the signature counts it. Read straight
 * from URLSearchParams: the platform's UrlParams round trip (array of pairs, then a record copied again) was
 * ~3 % of a webhook's CPU.
 */
export const formOf = (params: URLSearchParams): Form => {
  const form: Record<string, string | Array<string>> = Object.create(null)
  for (const [key, value] of params) {
    const prior = form[key]
    form[key] = prior === undefined ? value : typeof prior === "string" ? [prior, value] : [...prior, value]
  }
  return form
}

const Sid = (prefix: string) => Schema.String.pipe(Schema.pattern(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`)))
/** A count as Twilio writes it: decimal digits (not "1e3", "0x1" or " 5", which Number() would take). */
const Count = (max: number) =>
  Schema.compose(
    Schema.String.pipe(Schema.pattern(/^\d{1,4}$/, { message: () => `must be a count from 0 to ${max}` })),
    Schema.NumberFromString
  ).pipe(Schema.lessThanOrEqualTo(max, { message: () => `must be a count from 0 to ${max}` }))

/** Twilio's inbound message webhook. Twilio adds parameters without notice: unknown ones are kept. */
export const InboundForm = Schema.Struct({
  MessageSid: Sid("(SM|MM)"),
  AccountSid: Sid("AC"),
  From: Address,
  To: Address,
  Body: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(10_000)), { default: () => "" }),
  NumMedia: Schema.optional(Count(10)),
  NumSegments: Schema.optional(Count(1000)),
  MessagingServiceSid: Schema.optional(Schema.String)
})

/** Twilio sends `ErrorCode=` (empty) on some callbacks: the same as no code. */
const ErrorCode = Schema.transformOrFail(Schema.String, Schema.NullOr(Schema.Int), {
  strict: true,
  decode: (s, _, ast) =>
    s.trim() === ""
      ? ParseResult.succeed(null)
      : /^\d{1,9}$/.test(s.trim())
      ? ParseResult.succeed(Number(s))
      : ParseResult.fail(new ParseResult.Type(ast, s, "must be a Twilio error code (digits)")),
  encode: (code) => ParseResult.succeed(code === null ? "" : String(code))
})

export const StatusForm = Schema.Struct({
  MessageSid: Sid("(SM|MM)"),
  AccountSid: Sid("AC"),
  MessageStatus,
  ErrorCode: Schema.optional(ErrorCode),
  ErrorMessage: Schema.optional(Schema.String.pipe(Schema.maxLength(1000)))
})

/** Fields stored in their own columns; everything else Twilio sent (geo, OptOutType, AddOns…) is kept as extra. */
const columns = new Set(["MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "From", "To", "Body", "NumMedia", "NumSegments", "MessagingServiceSid"])

const MEDIA_FIELD = /^Media(Url|ContentType)\d+$/

export const extraFields = (form: Form): Record<string, string> => {
  // No prototype: a parameter named __proto__ is kept as data (on a plain object, assigning it is dropped).
  const extra: Record<string, string> = Object.create(null)
  for (const key in form) {
    if (columns.has(key) || MEDIA_FIELD.test(key)) continue
    const value = form[key]!
    extra[key] = typeof value === "string" ? value : value.join(",")
  }
  return extra
}

/** `MediaUrl{N}` with `MediaContentType{N}`, N from 0 to NumMedia - 1. */
export const mediaFields = (form: Form, count: number): ReadonlyArray<Media> => {
  const media: Array<Media> = []
  for (let i = 0; i < count; i++) {
    const url = form[`MediaUrl${i}`]
    const contentType = form[`MediaContentType${i}`]
    if (typeof url === "string") media.push(typeof contentType === "string" ? { url, contentType } : { url })
  }
  return media
}
