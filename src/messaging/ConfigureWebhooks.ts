import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AppConfig } from "../config/AppConfig.js"
import { publicUrlProblem } from "../domain/PublicUrl.js"
import { withoutCredentials } from "../domain/Text.js"
import { SMS_PATH } from "../domain/WebhookPaths.js"
import { Twilio } from "../twilio/Twilio.js"
import type { TwilioService } from "../twilio/TwilioResources.js"

export class WebhookUrlRefused extends Schema.TaggedError<WebhookUrlRefused>()("WebhookUrlRefused", {
  url: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Nothing changed: WEBHOOK_BASE_URL ${this.url} cannot receive Twilio's webhooks (${this.reason}). Set it to the ` +
      "public https URL that reaches this server (e.g. an ngrok or cloudflared tunnel) and run configure-webhooks again. " +
      "Without one, replies are fetched from Twilio."
  }
}

export class SenderNotFound extends Schema.TaggedError<SenderNotFound>()("SenderNotFound", {
  phoneNumber: Schema.String
}) {
  override get message() {
    return `Nothing changed: ${this.phoneNumber} is not a phone number of this Twilio account (check TWILIO_PHONE_NUMBER and the account SID).`
  }
}

/** What configure-webhooks did (or, with dryRun, would do), one plain line each. */
export interface WebhookReport {
  readonly changed: boolean
  readonly lines: ReadonlyArray<string>
}

/** A URL with its HTTP method, as a line shows it. */
const shown = (url: string | null, method: string | null) => (url ? `${withoutCredentials(url)} (${method ?? "POST"})` : "(none)")

/**
 * Points the sender's inbound messages at this server's webhook, through Twilio's API instead of the Console:
 * the number's SMS URL, or its Messaging Service's inbound request URL when that one wins. Running it again
 * changes nothing. A command for a person, not an MCP tool: a model does not rewire the account.
 */
export class ConfigureWebhooks extends Effect.Service<ConfigureWebhooks>()("twilio-mcp/ConfigureWebhooks", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio

    /** The service whose inbound URL wins over the number's, or undefined when the number's own applies. */
    const overridingService = (service: TwilioService | undefined) =>
      service !== undefined && !service.useInboundWebhookOnNumber ? service : undefined

    const run = Effect.fn("ConfigureWebhooks.run")(function*(options: { readonly dryRun: boolean }) {
      // Unset, it is the local listener's URL: refused as loopback.
      const base = config.webhookBaseUrl
      const problem = publicUrlProblem(base)
      if (problem !== undefined) return yield* new WebhookUrlRefused({ url: base, reason: problem })
      // What Twilio is given: the URL as configured (credentials included); what is shown has none.
      const wanted = `${Redacted.value(config.webhookSigningBaseUrl)}${SMS_PATH}`
      const wantedShown = shown(wanted, "POST")

      const number = config.phoneNumber === undefined ? undefined : yield* twilio.findNumber(config.phoneNumber)
      if (config.phoneNumber !== undefined && number === undefined) return yield* new SenderNotFound({ phoneNumber: config.phoneNumber })
      const service = config.messagingServiceSid !== undefined
        ? yield* twilio.fetchService(config.messagingServiceSid)
        : config.phoneNumber !== undefined
        ? yield* twilio.serviceOfNumber(config.phoneNumber)
        : undefined

      const lines: Array<string> = []
      if (number !== undefined) lines.push(`${number.phoneNumber} (${number.sid}): messaging webhook ${shown(number.smsUrl, number.smsMethod)}`)
      const inCharge = overridingService(service)
      if (inCharge !== undefined) {
        lines.push(
          `Messaging Service ${inCharge.sid} "${inCharge.friendlyName}": inbound request URL ${shown(inCharge.inboundRequestUrl, inCharge.inboundMethod)}; ` +
            `it is used instead of its numbers' own (useInboundWebhookOnNumber is off), so the service's URL is the one to set. ` +
            `(To let each number's webhook apply instead, turn useInboundWebhookOnNumber on for the service.)`
        )
      } else if (service !== undefined && number === undefined) {
        return yield* new WebhookUrlRefused({
          url: base,
          reason: `Messaging Service ${service.sid} defers to its numbers' webhooks (useInboundWebhookOnNumber): set TWILIO_PHONE_NUMBER to the number to configure`
        })
      }

      const current = inCharge !== undefined
        ? { url: inCharge.inboundRequestUrl, method: inCharge.inboundMethod }
        : { url: number!.smsUrl, method: number!.smsMethod }
      const what = inCharge !== undefined ? `the service's inbound request URL` : `${number!.phoneNumber}'s messaging webhook`
      if (current.url === wanted && (current.method ?? "POST").toUpperCase() === "POST") {
        lines.push(`${what} is already ${wantedShown}: nothing to change`)
        return { changed: false, lines } satisfies WebhookReport
      }
      if (options.dryRun) {
        lines.push(`would set ${what} to ${wantedShown}; nothing changed (--dry-run)`)
        return { changed: false, lines } satisfies WebhookReport
      }
      yield* inCharge !== undefined ? twilio.setServiceInboundUrl(inCharge.sid, wanted) : twilio.setNumberSmsUrl(number!.sid, wanted)
      lines.push(`set ${what} to ${wantedShown}: inbound messages now arrive by webhook`)
      return { changed: true, lines } satisfies WebhookReport
    })

    return { run } as const
  })
}) {}
