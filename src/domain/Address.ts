import * as Schema from "effect/Schema"

/** An E.164 phone number: what tools accept for recipients and participants. */
export const PhoneNumber = Schema.String.pipe(
  Schema.pattern(/^\+[1-9]\d{1,14}$/, {
    message: () => "must be an E.164 phone number: '+', country code and number, no spaces (e.g. +15551234567)"
  }),
  Schema.brand("PhoneNumber")
)
export type PhoneNumber = typeof PhoneNumber.Type

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
