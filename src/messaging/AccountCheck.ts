import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { AppConfig } from "../config/AppConfig.js"
import { withoutCredentials } from "../domain/Text.js"
import { SMS_PATH } from "../domain/WebhookPaths.js"
import { Twilio } from "../twilio/Twilio.js"
import type { TwilioNumber, TwilioService } from "../twilio/TwilioResources.js"
import { attempt, type Check, fail, pass } from "./Check.js"

/**
 * What `check` says about the Twilio account itself, each in one line with what to do: a trial account's
 * limit, the number's SMS/MMS capability, how replies arrive and what that costs in API requests, where the
 * number's (or its Messaging Service's) inbound webhook points, and the service's US A2P 10DLC campaign.
 */
export class AccountCheck extends Effect.Service<AccountCheck>()("twilio-mcp/AccountCheck", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio
    const inboundUrl = `${config.webhookBaseUrl}${SMS_PATH}`
    // What Twilio holds for the number: the URL as configured, credentials included (never shown).
    const signedInboundUrl = `${Redacted.value(config.webhookSigningBaseUrl)}${SMS_PATH}`
    const fetching = config.inbound === "fetch"

    const credentials = attempt(
      "twilio credentials",
      Effect.map(twilio.fetchAccount, (a): ReadonlyArray<Check> => [
        pass(
          "twilio credentials",
          config.sandbox ? "sandbox: in-memory Twilio, no account used" : `account ${a.sid} "${a.friendlyName}" is ${a.status}`
        ),
        a.type === "Trial"
          ? pass(
            "account type",
            "trial account: it sends only to verified numbers (others fail with error 21608) and adds a trial notice to each " +
              "message; verify recipients in the Console (Phone Numbers › Verified Caller IDs) or upgrade the account"
          )
          : pass("account type", `${a.type} account: no trial limits`)
      ])
    )

    const inboundMode = pass(
      "inbound",
      fetching
        ? `fetched from Twilio, no public URL needed: every ${config.fetchSeconds} s while a wait_for_reply is active or for 3 minutes ` +
          `after a send (about ${Math.round(3600 / config.fetchSeconds)} API requests an hour then), every ${config.idleFetchSeconds} s ` +
          `otherwise (about ${Math.round(3600 / config.idleFetchSeconds)} an hour). For webhooks instead (lower latency, no polling), ` +
          "set a public https WEBHOOK_BASE_URL and run configure-webhooks"
        : `by Twilio's webhook to ${inboundUrl}: no polling (0 API requests an hour for replies)`
    )

    const capability = (n: TwilioNumber): Check =>
      !n.capabilities.sms
        ? fail("number capabilities", `${n.phoneNumber} has no SMS capability: it can neither send nor receive texts; use an SMS-capable number as TWILIO_PHONE_NUMBER`)
        : !n.capabilities.mms
        ? pass("number capabilities", `${n.phoneNumber} sends SMS but not MMS: sends with media will fail${config.enableMms ? " (set ENABLE_MMS=false to refuse them up front)" : ""}`)
        : pass("number capabilities", `${n.phoneNumber} sends and receives SMS and MMS`)

    /** Where Twilio posts inbound messages: the service's URL when it overrides its numbers', else the number's. */
    const webhook = (n: TwilioNumber | undefined, service: TwilioService | undefined): Check => {
      const name = "inbound webhook URL"
      const overriding = service !== undefined && !service.useInboundWebhookOnNumber
      const where = overriding ? `Messaging Service ${service.sid}` : n?.phoneNumber ?? "the sender"
      const url = overriding ? service.inboundRequestUrl : n?.smsUrl ?? null
      const shown = url ? withoutCredentials(url) : "(nothing)"
      if (fetching) {
        return pass(name, url ? `${where} also sends inbound SMS to ${shown}; replies are fetched from Twilio either way` : `${where} has no messaging webhook; replies are fetched from Twilio`)
      }
      return url === signedInboundUrl
        ? pass(name, `${where} sends inbound SMS to ${inboundUrl}`)
        : fail(name, `${where} sends inbound SMS to ${shown}, not to this server: run configure-webhooks (or set ${inboundUrl}, HTTP POST, in the Console)`)
    }

    const a2p = (service: TwilioService) =>
      attempt(
        "A2P 10DLC",
        Effect.map(twilio.a2pCampaigns(service.sid), (campaigns): Check => {
          const statuses = campaigns.map((c) => c.campaignStatus)
          if (statuses.length === 0) {
            return pass("A2P 10DLC", `Messaging Service ${service.sid} has no US A2P 10DLC campaign: texts to US numbers from a 10DLC number fail with 30034 until one is registered`)
          }
          return statuses.includes("VERIFIED")
            ? pass("A2P 10DLC", `Messaging Service ${service.sid}'s US A2P 10DLC campaign is VERIFIED`)
            : fail("A2P 10DLC", `Messaging Service ${service.sid}'s US A2P 10DLC campaign is ${statuses.join(", ")}: texts to US numbers fail with 30034 until it is VERIFIED (Console › Messaging › Regulatory Compliance)`)
        })
      )

    const sender = attempt(
      "inbound webhook URL",
      Effect.gen(function*() {
        const n = config.phoneNumber === undefined ? undefined : yield* twilio.findNumber(config.phoneNumber)
        if (config.phoneNumber !== undefined && n === undefined) {
          return [fail("inbound webhook URL", `${config.phoneNumber} is not a phone number of this account`)]
        }
        const service = config.messagingServiceSid !== undefined
          ? yield* twilio.fetchService(config.messagingServiceSid)
          : yield* twilio.serviceOfNumber(config.phoneNumber!)
        return [
          ...(n === undefined ? [] : [capability(n)]),
          webhook(n, service),
          ...(service === undefined ? [] : [yield* a2p(service)].flat())
        ]
      })
    )

    const run = Effect.map(Effect.all([credentials, Effect.succeed(inboundMode), sender], { concurrency: "unbounded" }), (checks) => checks.flat())
    return { run } as const
  })
}) {}
