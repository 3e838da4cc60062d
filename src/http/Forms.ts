import * as Schema from "effect/Schema"
import { Address } from "../domain/Address.js"
import type { Media } from "../domain/Message.js"
import { MessageStatus } from "../domain/Message.js"

/** A urlencoded form as posted: a repeated key gives an array, which single-valued fields reject. */
export type Form = Record<string, string | Array<string>>

export const parseForm = (text: string): Form => {
  // No prototype: a parameter named __proto__, constructor or toString is data like any other. On a plain
  // object the first was dropped and the others merged with the inherited member, so a genuine signed
  // webhook carrying one failed its signature check.
  const form: Form = Object.create(null)
  for (const [key, value] of new URLSearchParams(text)) {
    const prior = form[key]
    form[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value]
  }
  return form
}

const Sid = (prefix: string) => Schema.String.pipe(Schema.pattern(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`)))
const Count = Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, 1000))

/** Twilio's inbound message webhook. Twilio adds parameters without notice: unknown ones are kept. */
export const InboundForm = Schema.Struct({
  MessageSid: Sid("(SM|MM)"),
  AccountSid: Sid("AC"),
  From: Address,
  To: Address,
  Body: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(10_000)), { default: () => "" }),
  NumMedia: Schema.optional(Count.pipe(Schema.lessThanOrEqualTo(10))),
  NumSegments: Schema.optional(Count),
  MessagingServiceSid: Schema.optional(Schema.String)
})

export const StatusForm = Schema.Struct({
  MessageSid: Sid("(SM|MM)"),
  AccountSid: Sid("AC"),
  MessageStatus,
  ErrorCode: Schema.optional(Schema.NumberFromString.pipe(Schema.int()))
})

/** Fields stored in their own columns; everything else Twilio sent (geo, OptOutType, AddOns…) is kept as extra. */
const columns = new Set(["MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "From", "To", "Body", "NumMedia", "NumSegments", "MessagingServiceSid"])

const MEDIA_FIELD = /^Media(Url|ContentType)\d+$/

export const extraFields = (form: Form): Record<string, string> => {
  const extra: Record<string, string> = {}
  for (const key in form) {
    if (columns.has(key) || MEDIA_FIELD.test(key)) continue
    const value = form[key]!
    // defineProperty: assigning to a plain object would drop a parameter named __proto__.
    Object.defineProperty(extra, key, { value: Array.isArray(value) ? value.join(",") : value, enumerable: true, writable: true, configurable: true })
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
