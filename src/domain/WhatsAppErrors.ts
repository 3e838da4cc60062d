import * as Schema from "effect/Schema"

/** WhatsApp's refusals, decided before Twilio is called (see Errors.ts for the others). */

export class WhatsAppSenderMissing extends Schema.TaggedError<WhatsAppSenderMissing>()("WhatsAppSenderMissing", {
  to: Schema.String
}) {
  override get message() {
    return `Not sent: ${this.to} is a WhatsApp address and no WhatsApp sender is configured. Set TWILIO_WHATSAPP_NUMBER ` +
      "(whatsapp:+E164, e.g. whatsapp:+14155238886 for Twilio's WhatsApp sandbox), or TWILIO_MESSAGING_SERVICE_SID " +
      "with a WhatsApp sender in its sender pool."
  }
}

/** A `from` on another channel than `to`: an SMS number cannot write on WhatsApp, nor the reverse. */
export class ChannelMismatch extends Schema.TaggedError<ChannelMismatch>()("ChannelMismatch", {
  to: Schema.String,
  from: Schema.String
}) {
  override get message() {
    return `Not sent: ${this.from} and ${this.to} are on different channels (SMS and WhatsApp). ` +
      "Omit from to use the configured sender of the recipient's channel."
  }
}

/** Free-form text outside the 24 hours after the person's last message: WhatsApp (Twilio 63016) refuses it. */
export class WindowClosed extends Schema.TaggedError<WindowClosed>()("WindowClosed", {
  to: Schema.String,
  closedAt: Schema.optional(Schema.String)
}) {
  override get message() {
    const when = this.closedAt === undefined
      ? `${this.to} has not written to you on WhatsApp (no message from them is stored)`
      : `the 24-hour window closed at ${this.closedAt}, 24 hours after ${this.to}'s last message`
    return `Not sent: ${when}. Outside the window WhatsApp accepts only an approved template: send with contentSid ` +
      "(and contentVariables) from list_templates instead of message. The window opens again when they write."
  }
}

export class TemplateNotFound extends Schema.TaggedError<TemplateNotFound>()("TemplateNotFound", {
  contentSid: Schema.String
}) {
  override get message() {
    return `Not sent: template ${this.contentSid} is not one of this account's content templates. Use list_templates.`
  }
}

export class TemplateVariablesMissing extends Schema.TaggedError<TemplateVariablesMissing>()("TemplateVariablesMissing", {
  contentSid: Schema.String,
  missing: Schema.Array(Schema.String),
  declared: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Not sent: template ${this.contentSid} needs every variable it declares (${this.declared.join(", ")}); ` +
      `missing: ${this.missing.join(", ")}. Give them in contentVariables, e.g. {"${this.missing[0]}": "…"}.`
  }
}

/** Media WhatsApp does not take: more than one item, or a type outside Twilio's list for WhatsApp. */
export class WhatsAppMediaRefused extends Schema.TaggedError<WhatsAppMediaRefused>()("WhatsAppMediaRefused", {
  detail: Schema.String
}) {
  override get message() {
    return `Not sent: ${this.detail}. WhatsApp takes one media item per message: images (JPEG, PNG) up to 5 MB; ` +
      "audio (OGG/Opus, AMR, 3GP, AAC, MP3), video (MP4, 3GP) up to 16 MB; documents (PDF, Office files, text) up to 100 MB."
  }
}
