import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as path from "node:path"
import { PhoneNumber, WhatsAppNumber } from "../domain/Address.js"
import { publicUrlProblem } from "../domain/PublicUrl.js"
import { withoutCredentials } from "../domain/Text.js"
import type { AppConfigShape } from "./AppConfig.js"
import { isInstalledPackage, type Location } from "./Install.js"
import { oauthConfig } from "./OAuthConfig.js"
import {
  AccountSid,
  AuthToken,
  BooleanFromEnv,
  HostNames,
  HttpUrl,
  InboundFromEnv,
  IntFromEnv,
  LogLevelFromEnv,
  McpTokens,
  MessagingServiceSid,
  NonEmpty,
  optional,
  Port,
  PostgresUrl,
  Recipients,
  variable
} from "./Variables.js"

/** Also an environment switch, for clients and installers that set environment rather than arguments. */
export const sandboxSwitch = Config.withDefault(variable("TWILIO_MCP_SANDBOX", BooleanFromEnv), false)

type Account = Pick<AppConfigShape, "accountSid" | "authToken" | "phoneNumber" | "messagingServiceSid">

/** Values that let the sandbox run with no Twilio account; they never reach Twilio. */
const sandboxAccount: Account = {
  accountSid: `AC${"0".repeat(32)}`,
  authToken: Redacted.make("sandbox-auth-token-not-a-real-secret"),
  phoneNumber: PhoneNumber.make("+15005550006"),
  messagingServiceSid: undefined
}

/** The account and its sender: a phone number, a Messaging Service, or both. */
const twilioAccount: Config.Config<Account> = Config.all({
  accountSid: variable("TWILIO_ACCOUNT_SID", AccountSid),
  authToken: Config.map(variable("TWILIO_AUTH_TOKEN", AuthToken), Redacted.make),
  sender: Config.mapOrFail(
    Config.all({
      phoneNumber: optional(variable("TWILIO_PHONE_NUMBER", PhoneNumber)),
      messagingServiceSid: optional(variable("TWILIO_MESSAGING_SERVICE_SID", MessagingServiceSid))
    }),
    (sender) =>
      sender.phoneNumber === undefined && sender.messagingServiceSid === undefined
        ? Either.left(ConfigError.InvalidData(
          ["TWILIO_PHONE_NUMBER"],
          "is required (E.164, e.g. +15551234567) unless TWILIO_MESSAGING_SERVICE_SID is set"
        ))
        : Either.right(sender)
  )
}).pipe(Config.map(({ sender, ...account }) => ({ ...account, ...sender })))

const webhookPort = (sandbox: boolean) => Config.withDefault(variable("WEBHOOK_PORT", Port(sandbox)), 3000)

/**
 * WEBHOOK_BASE_URL, and how inbound messages arrive (INBOUND). Without a URL, the local listener's stands for it
 * (signatures of webhooks sent to it are checked against it). The sandbox takes its inbound messages from
 * simulate_inbound and its carrier, never from Twilio.
 */
const webhookUrls = (sandbox: boolean) =>
  Config.mapOrFail(
    Config.all([optional(variable("WEBHOOK_BASE_URL", HttpUrl)), webhookPort(sandbox), Config.withDefault(variable("INBOUND", InboundFromEnv), "auto")]),
    ([url, port, setting]) => {
      if (setting === "webhook" && url === undefined && !sandbox) {
        return Either.left(ConfigError.InvalidData(
          ["INBOUND"],
          "is webhook, which needs WEBHOOK_BASE_URL (the public https URL Twilio posts to); without one, leave INBOUND unset"
        ))
      }
      const base = url ?? `http://127.0.0.1:${port}`
      const webhooks = sandbox || setting === "webhook" || (setting === "auto" && url !== undefined && publicUrlProblem(url) === undefined)
      return Either.right({
        webhookBaseUrl: withoutCredentials(base).replace(/\/+$/, ""),
        webhookSigningBaseUrl: Redacted.make(base),
        inbound: webhooks ? "webhook" as const : "fetch" as const
      })
    }
  )

/** DATABASE_PATH: absolute, or relative to the data folder; ":memory:" as it is. */
const databasePath = (sandbox: boolean, location: Location, folder: string) => {
  const file = sandbox ? "sandbox.db" : "twilio.db"
  const paths = location.platform === "win32" ? path.win32 : path.posix
  return Config.map(
    Config.withDefault(variable("DATABASE_PATH", NonEmpty), isInstalledPackage(location) ? file : `./data/${file}`),
    (configured) => configured === ":memory:" ? configured : paths.resolve(folder, configured)
  )
}

/**
 * Every variable: one entry each (add new ones here and to `AppConfigShape`). `Config.all` reads them all
 * and reports every problem at once.
 */
export const settings = (sandbox: boolean, location: Location, folder: string): Config.Config<AppConfigShape> =>
  Config.all([
    sandbox ? Config.succeed(sandboxAccount) : twilioAccount,
    webhookUrls(sandbox),
    Config.all({
      webhookHost: Config.withDefault(variable("WEBHOOK_HOST", NonEmpty), "127.0.0.1"),
      webhookPort: webhookPort(sandbox),
      fetchSeconds: Config.withDefault(variable("INBOUND_FETCH_SECONDS", IntFromEnv(1, 60)), 2),
      idleFetchSeconds: Config.withDefault(variable("INBOUND_IDLE_FETCH_SECONDS", IntFromEnv(10, 3600)), 60),
      databasePath: databasePath(sandbox, location, folder),
      databaseUrl: optional(Config.map(variable("DATABASE_URL", PostgresUrl), Redacted.make)),
      logLevel: Config.withDefault(variable("LOG_LEVEL", LogLevelFromEnv), "info" as const),
      autoCreateConversations: Config.withDefault(variable("AUTO_CREATE_CONVERSATIONS", BooleanFromEnv), true),
      enableAiContext: Config.withDefault(variable("ENABLE_AI_CONTEXT", BooleanFromEnv), true),
      enableMms: Config.withDefault(variable("ENABLE_MMS", BooleanFromEnv), true),
      twilioApiBaseUrl: optional(variable("TWILIO_API_BASE_URL", HttpUrl)),
      twilioTimeoutMs: Config.withDefault(variable("TWILIO_TIMEOUT_MS", IntFromEnv(100, 120_000)), 15_000),
      allowedRecipients: optional(variable("SMS_ALLOWED_RECIPIENTS", Recipients)),
      maxPerHour: optional(variable("SMS_MAX_PER_HOUR", IntFromEnv(1, 1_000_000))),
      mcpAuthTokens: Config.map(Config.withDefault(variable("MCP_AUTH_TOKEN", McpTokens), []), (tokens) => tokens.map((token) => Redacted.make(token))),
      mcpAllowedHosts: Config.map(Config.withDefault(variable("MCP_ALLOWED_HOSTS", HostNames), []), (hosts) => hosts.map((h) => h.toLowerCase())),
      // The sandbox plays Twilio's WhatsApp sandbox number.
      whatsappNumber: sandbox
        ? Config.withDefault(variable("TWILIO_WHATSAPP_NUMBER", WhatsAppNumber), "whatsapp:+14155238886")
        : optional(variable("TWILIO_WHATSAPP_NUMBER", WhatsAppNumber)),
      oauth: oauthConfig
    })
  ]).pipe(Config.map(([account, urls, rest]): AppConfigShape => ({ ...account, ...urls, ...rest, sandbox })))
