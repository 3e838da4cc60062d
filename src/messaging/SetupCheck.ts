import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { AppConfig } from "../config/AppConfig.js"
import { commandLine, currentLocation } from "../config/Install.js"
import { withoutCredentials } from "../domain/Text.js"
import { SMS_PATH } from "../domain/WebhookPaths.js"
import { Database } from "../storage/Database.js"
import { Twilio } from "../twilio/Twilio.js"

export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

const pass = (name: string, detail: string): Check => ({ name, ok: true, detail })
const fail = (name: string, detail: string): Check => ({ name, ok: false, detail })

/** A check whose error is its failure detail. */
const attempt = <E extends { readonly message: string }, R>(name: string, effect: Effect.Effect<Check, E, R>) =>
  Effect.catchAll(effect, (e) => Effect.succeed(fail(name, e.message)))

/**
 * What must be true for messages to flow, checked without sending anything: credentials, where the
 * number's inbound webhook points, the database, and who serves the webhook port.
 */
export class SetupCheck extends Effect.Service<SetupCheck>()("twilio-mcp/SetupCheck", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio
    const database = yield* Database
    const inboundUrl = `${config.webhookBaseUrl}${SMS_PATH}`
    // What Twilio holds for the number: the URL as configured, credentials included (never shown).
    const signedInboundUrl = `${Redacted.value(config.webhookSigningBaseUrl)}${SMS_PATH}`

    const credentials = attempt(
      "twilio credentials",
      Effect.map(twilio.fetchAccount, (a) =>
        pass(
          "twilio credentials",
          config.sandbox ? "sandbox: in-memory Twilio, no account used" : `account ${a.sid} "${a.friendlyName}" is ${a.status}`
        ))
    )

    const name = "inbound webhook URL"
    const numberWebhook = config.phoneNumber === undefined
      ? Effect.succeed(pass(name, `no TWILIO_PHONE_NUMBER: set the Messaging Service's inbound URL to ${inboundUrl}`))
      : attempt(
        name,
        Effect.map(twilio.findNumber(config.phoneNumber), (n) =>
          n === undefined
            ? fail(name, `${config.phoneNumber} is not a phone number of this account`)
            : n.smsUrl === signedInboundUrl
            ? pass(name, `${n.phoneNumber} sends inbound SMS to ${inboundUrl}`)
            : fail(
              name,
              `${n.phoneNumber} sends inbound SMS to ${n.smsUrl ? withoutCredentials(n.smsUrl) : "(nothing)"}; ` +
                `set its messaging webhook to ${inboundUrl} (HTTP POST)`
            ))
      )

    /** Writable (the write lock taken), and which database: SQLite's file, or PostgreSQL's server without credentials. */
    const databaseCheck = attempt(
      "database",
      Effect.zipRight(
        database.writeTransaction(Effect.void),
        Effect.map(database.describe, (d) =>
          pass(
            "database",
            d.engine === "sqlite"
              ? `${d.location} is writable`
              : `PostgreSQL ${d.version} at ${d.location} is writable (migrations up to ${d.migration})`
          ))
      )
    )

    const publicUrl = Effect.succeed(
      config.webhookBaseUrl.startsWith("https://") || config.sandbox
        ? pass("WEBHOOK_BASE_URL", `${config.webhookBaseUrl} (Twilio posts to ${inboundUrl})`)
        : fail("WEBHOOK_BASE_URL", `${config.webhookBaseUrl} is not https: Twilio needs a public HTTPS URL (ngrok in development)`)
    )

    /** Asks whatever listens on the port for our health route. */
    const port = Effect.promise(async (): Promise<Check> => {
      const host = config.webhookHost === "0.0.0.0" || config.webhookHost === "::" ? "127.0.0.1" : config.webhookHost
      const where = `${config.webhookHost}:${config.webhookPort}`
      try {
        const response = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${config.webhookPort}/healthz`, {
          signal: AbortSignal.timeout(2000)
        })
        const body = await response.json().catch(() => undefined) as { version?: string } | undefined
        return body?.version !== undefined
          ? pass("webhook port", `twilio-mcp ${body.version} serves webhooks on ${where}`)
          : fail("webhook port", `another program holds ${where}`)
      } catch {
        // The sandbox's inbound messages come from simulate_inbound, not from Twilio.
        return config.sandbox
          ? pass("webhook port", `nothing listens on ${where}; not needed in the sandbox (simulate_inbound stands in for Twilio)`)
          : fail(
            "webhook port",
            `nothing listens on ${where}, so inbound SMS will be missed: start the MCP server (your MCP client does when it ` +
              `connects) or the webhook server alone with \`${commandLine(currentLocation())} webhooks\``
          )
      }
    })

    const run = Effect.map(
      Effect.all([Effect.succeed(pass("configuration", "valid")), publicUrl, credentials, numberWebhook, databaseCheck, port], {
        concurrency: "unbounded"
      }),
      (checks) => ({ ok: checks.every((c) => c.ok), checks })
    )
    return { run } as const
  }),
  dependencies: [Database.Default]
}) {}
