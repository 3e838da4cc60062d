import * as Effect from "effect/Effect"
import { AppConfig } from "../config/AppConfig.js"
import { commandLine, currentLocation } from "../config/Install.js"
import { SMS_PATH } from "../domain/WebhookPaths.js"
import { Database } from "../storage/Database.js"
import { AccountCheck } from "./AccountCheck.js"
import { attempt, type Check, fail, pass } from "./Check.js"

/**
 * What must be true for messages to flow, checked without sending anything: credentials, where the
 * number's inbound webhook points, the database, and who serves the webhook port.
 */
export class SetupCheck extends Effect.Service<SetupCheck>()("twilio-mcp/SetupCheck", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const database = yield* Database
    const account = yield* AccountCheck
    const inboundUrl = `${config.webhookBaseUrl}${SMS_PATH}`
    const fetching = config.inbound === "fetch"

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
      fetching
        ? pass("WEBHOOK_BASE_URL", `${config.webhookBaseUrl} is no public https URL Twilio could post to: replies are fetched from Twilio instead`)
        : config.webhookBaseUrl.startsWith("https://") || config.sandbox
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
        // The sandbox's inbound messages come from simulate_inbound, not from Twilio; fetched ones not by webhook.
        return config.sandbox
          ? pass("webhook port", `nothing listens on ${where}; not needed in the sandbox (simulate_inbound stands in for Twilio)`)
          : fetching
          ? pass("webhook port", `nothing listens on ${where}; not needed: replies are fetched from Twilio`)
          : fail(
            "webhook port",
            `nothing listens on ${where}, so inbound SMS will be missed: start the MCP server (your MCP client does when it ` +
              `connects) or the webhook server alone with \`${commandLine(currentLocation())} webhooks\``
          )
      }
    })

    const run = Effect.map(
      Effect.all([Effect.succeed(pass("configuration", "valid")), publicUrl, account.run, databaseCheck, port], {
        concurrency: "unbounded"
      }),
      (lines) => {
        const checks = lines.flat()
        return { ok: checks.every((c) => c.ok), checks }
      }
    )
    return { run } as const
  }),
  dependencies: [Database.Default, AccountCheck.Default]
}) {}
