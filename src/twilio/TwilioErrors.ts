import * as Schema from "effect/Schema"
import { describeTwilioError } from "../domain/TwilioErrorAdvice.js"

/** Twilio answered with an error: nothing was sent. */
export class TwilioApiError extends Schema.TaggedError<TwilioApiError>()("TwilioApiError", {
  operation: Schema.String,
  httpStatus: Schema.Number,
  code: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  /** Twilio's words, then what to do about them when the code is one an agent can act on. */
  override get message() {
    const code = this.code === undefined ? "" : ` ${this.code}`
    const advice = this.code === undefined ? undefined : describeTwilioError(this.code)
    return `Twilio error${code} (HTTP ${this.httpStatus}) during ${this.operation}: ${this.detail}` + (advice ? ` — ${advice}` : "")
  }
}

/**
 * Twilio could not be reached or did not answer in time. For a send this is ambiguous: the request may
 * have been processed, so it is never retried automatically.
 */
export class TwilioUnreachable extends Schema.TaggedError<TwilioUnreachable>()("TwilioUnreachable", {
  operation: Schema.String,
  reason: Schema.String,
  mayHaveSent: Schema.Boolean
}) {
  override get message() {
    return `Twilio unreachable during ${this.operation}: ${this.reason}.` +
      (this.mayHaveSent
        ? " The message may have been sent: check get_message_status or the Twilio console before sending again."
        : " Try again later.")
  }
}
