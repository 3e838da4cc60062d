/**
 * Twilio error codes an agent can act on, with what to do next. Unknown codes fall back to Twilio's own
 * message plus a link to its documentation.
 */
const known: Record<number, string> = {
  20003: "Authentication failed: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.",
  20404: "The resource was not found in this Twilio account.",
  20429: "Rate limited by Twilio: wait a moment and try again.",
  21211: "The 'to' number is not a valid phone number: check it is E.164 and correct.",
  21408: "Sending to this region is not enabled: enable it in Twilio's Messaging Geo Permissions.",
  21606: "The 'from' number is not an SMS-capable number of this account: use TWILIO_PHONE_NUMBER or one you own.",
  21608: "Trial account: the recipient must be a verified number, or upgrade the account.",
  21610: "The recipient replied STOP and has opted out: do not retry; they must text START to opt back in.",
  21611: "The sender's queue is full: wait and retry later.",
  21612: "This To/From combination is not supported (e.g. international or short-code limits).",
  21614: "The 'to' number is not a mobile number and cannot receive SMS.",
  21617: "The message body is too long (over 1600 characters): shorten it.",
  21635: "The 'to' number cannot receive SMS (not a mobile number).",
  21658: "The message body is too long: shorten it.",
  30001: "The sender's queue overflowed: retry later at a slower rate.",
  30003: "Unreachable destination handset",
  30004: "Message blocked by the recipient or their carrier.",
  30005: "Unknown destination handset: the number may not exist.",
  30006: "Landline or unreachable carrier: the number cannot receive SMS.",
  30007: "Filtered by the carrier as spam: revise the content or register the sender.",
  30008: "Unknown error from the carrier.",
  30034: "The sending number is not registered for A2P 10DLC: register it in the Twilio console."
}

export const describeTwilioError = (code: number): string | undefined => known[code]

export const twilioErrorText = (code: number): string =>
  known[code] ?? `Twilio error ${code}: see https://www.twilio.com/docs/errors/${code}`
