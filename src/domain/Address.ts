import * as Schema from "effect/Schema"

/** An E.164 phone number: what tools accept for recipients and participants. */
export const PhoneNumber = Schema.String.pipe(
  Schema.pattern(/^\+[1-9]\d{1,14}$/, {
    message: () => "must be an E.164 phone number: '+', country code and number, no spaces (e.g. +15551234567)"
  }),
  Schema.brand("PhoneNumber")
)
export type PhoneNumber = typeof PhoneNumber.Type

/** The channel a message goes by: WhatsApp for `whatsapp:` addresses, SMS/MMS for every other one. */
export const Channel = Schema.Literal("sms", "whatsapp")
export type Channel = typeof Channel.Type

const WHATSAPP_PREFIX = "whatsapp:"

export const channelOf = (address: string): Channel => address.startsWith(WHATSAPP_PREFIX) ? "whatsapp" : "sms"

/** A thread's channel: WhatsApp when any participant is a WhatsApp address. */
export const channelOfParticipants = (participants: ReadonlyArray<string>): Channel =>
  participants.some((p) => channelOf(p) === "whatsapp") ? "whatsapp" : "sms"

/**
 * A number a tool may message or name: E.164, or `whatsapp:` + E.164 (the prefix in any case, stored in lower
 * case as Twilio writes it). The brand is PhoneNumber's: a WhatsApp number is a phone number on another channel.
 */
export const ChannelNumber = Schema.transform(
  Schema.String,
  Schema.String,
  { strict: true, decode: (s) => s.replace(/^whatsapp:/i, WHATSAPP_PREFIX), encode: (s) => s }
).pipe(
  Schema.pattern(/^(whatsapp:)?\+[1-9]\d{1,14}$/, {
    message: () => "must be an E.164 phone number: '+', country code and number, no spaces (e.g. +15551234567), or whatsapp:+15551234567"
  }),
  Schema.brand("PhoneNumber")
)

/** A WhatsApp sender (TWILIO_WHATSAPP_NUMBER): `whatsapp:+E164`; a bare E.164 number gets the prefix. */
export const WhatsAppNumber = Schema.transform(
  Schema.String,
  Schema.String,
  { strict: true, decode: (s) => WHATSAPP_PREFIX + s.replace(/^whatsapp:/i, ""), encode: (s) => s }
).pipe(
  Schema.pattern(/^whatsapp:\+[1-9]\d{1,14}$/, {
    message: () => "must be a WhatsApp sender: whatsapp: and an E.164 number (e.g. whatsapp:+14155238886)"
  })
)

/** ChannelNumber as a tool parameter: its JSON Schema, with `description` for the model (none for array items). */
export const channelNumberParameter = (description?: string) =>
  ChannelNumber.annotations({
    jsonSchema: { type: "string", ...(description === undefined ? {} : { description }), pattern: "^(whatsapp:)?\\+[1-9]\\d{1,14}$" }
  })

/**
 * Any address Twilio can deliver from or to: E.164 numbers, short codes, alphanumeric sender IDs,
 * `whatsapp:+1…`. Genuine signed webhooks are never rejected for their address format.
 */
export const Address = Schema.Trim.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(128),
  Schema.brand("Address")
)
export type Address = typeof Address.Type

/** A phone number is also an address; the brands differ only to keep tool input strict. */
export const phoneAsAddress = (phone: PhoneNumber): Address => phone as string as Address

/**
 * The thread key: the distinct participants, sorted, joined by `|`.
 * A→B and B→A give the same key, so both directions land in one conversation.
 */
export const participantKey = (participants: ReadonlyArray<string>): string =>
  normalizeParticipants(participants).join("|")

export const normalizeParticipants = (participants: ReadonlyArray<string>): ReadonlyArray<Address> =>
  Array.from(new Set(participants.map((p) => p.trim() as Address))).sort()
