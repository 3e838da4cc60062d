import * as Effect from "effect/Effect"
import { AppConfig } from "./Config.js"
import { writeTransaction } from "./Database.js"
import { SMS_PATH } from "./Messaging.js"
import { Twilio } from "./Twilio.js"

export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

const check = (name: string) => <E extends { readonly message: string }, R>(effect: Effect.Effect<Check["detail"] | { ok: false; detail: string }, E, R>) =>
  Effect.match(effect, {
    onFailure: (e): Check => ({ name, ok: false, detail: e.message }),
    onSuccess: (d): Check => typeof d === "string" ? { name, ok: true, detail: d } : { name, ...d }
  })

/**
 * What must be true for messages to flow, checked without sending anything: credentials, where the
 * number's inbound webhook points, the database, and who serves the webhook port.
 */
export class SetupCheck extends Effect.Service<SetupCheck>()("twilio-mcp/SetupCheck", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio
    const inboundUrl = `${config.webhookBaseUrl}${SMS_PATH}`

    const credentials = check("twilio credentials")(
      Effect.map(twilio.fetchAccount, (a) =>
        config.sandbox ? "sandbox: in-memory Twilio, no account used" : `account ${a.sid} "${a.friendlyName}" is ${a.status}`)
    )

    const numberWebhook = check("inbound webhook URL")(
      config.phoneNumber === undefined
        ? Effect.succeed("no TWILIO_PHONE_NUMBER: set the Messaging Service's inbound URL to " + inboundUrl)
        : Effect.map(twilio.findNumber(config.phoneNumber), (n) =>
          n === undefined
            ? { ok: false as const, detail: `${config.phoneNumber} is not a phone number of this account` }
            : n.smsUrl === inboundUrl
            ? `${n.phoneNumber} sends inbound SMS to ${inboundUrl}`
            : {
              ok: false as const,
              detail: `${n.phoneNumber} sends inbound SMS to ${n.smsUrl || "(nothing)"}; set its messaging webhook to ${inboundUrl} (HTTP POST)`
            })
    )

    const database = check("database")(
      Effect.as(writeTransaction(Effect.void), `${config.databasePath} is writable`)
    )

    const publicUrl = check("WEBHOOK_BASE_URL")(Effect.succeed(
      config.webhookBaseUrl.startsWith("https://") || config.sandbox
        ? `${config.webhookBaseUrl} (Twilio posts to ${inboundUrl})`
        : { ok: false as const, detail: `${config.webhookBaseUrl} is not https: Twilio needs a public HTTPS URL (ngrok in development)` }
    ))

    /** Asks whatever listens on the port for our health route. */
    const port = check("webhook port")(
      Effect.tryPromise({
        try: async () => {
          const host = config.webhookHost === "0.0.0.0" || config.webhookHost === "::" ? "127.0.0.1" : config.webhookHost
          const url = `http://${host.includes(":") ? `[${host}]` : host}:${config.webhookPort}/healthz`
          try {
            const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
            const body = await response.json().catch(() => undefined) as { version?: string } | undefined
            return body?.version !== undefined
              ? `twilio-mcp ${body.version} serves webhooks on ${config.webhookHost}:${config.webhookPort}`
              : { ok: false as const, detail: `another program holds ${config.webhookHost}:${config.webhookPort}` }
          } catch {
            return {
              ok: false as const,
              detail: `nothing listens on ${config.webhookHost}:${config.webhookPort}: start the server (or \`twilio-mcp webhooks\`) or inbound SMS will be missed`
            }
          }
        },
        catch: (e) => ({ message: String(e) })
      })
    )

    const run = Effect.map(
      Effect.all([Effect.succeed<Check>({ name: "configuration", ok: true, detail: "valid" }), publicUrl, credentials, numberWebhook, database, port], {
        concurrency: "unbounded"
      }),
      (checks) => ({ ok: checks.every((c) => c.ok), checks })
    )
    return { run } as const
  })
}) {}
