import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import type * as Redacted from "effect/Redacted"
import type { PhoneNumber } from "../domain/Address.js"
import type { OAuthMode } from "./OAuthMode.js"

export type LogLevelName = "debug" | "info" | "warn" | "error"

export interface AppConfigShape {
  readonly accountSid: string
  readonly authToken: Redacted.Redacted<string>
  /** The default sender; absent only when a Messaging Service sends. */
  readonly phoneNumber: PhoneNumber | undefined
  readonly messagingServiceSid: string | undefined
  /** The WhatsApp sender (`whatsapp:+E164`); absent: the Messaging Service's, or no WhatsApp. */
  readonly whatsappNumber?: string | undefined
  /**
   * Public base URL Twilio calls, without a trailing slash and without credentials: what may be shown. Without
   * WEBHOOK_BASE_URL, the local listener's (http://127.0.0.1:WEBHOOK_PORT), which Twilio cannot reach.
   */
  readonly webhookBaseUrl: string
  /** The same URL exactly as configured, with `user:password@` if it has them: what Twilio calls and signs. */
  readonly webhookSigningBaseUrl: Redacted.Redacted<string>
  readonly webhookHost: string
  readonly webhookPort: number
  /**
   * How inbound messages and statuses arrive (INBOUND): Twilio's webhooks, or fetched from Twilio, which needs
   * no public URL. `auto` (the default) is webhooks for a public https WEBHOOK_BASE_URL, else fetching.
   */
  readonly inbound: "webhook" | "fetch"
  /** Fetching's cadence in seconds while a wait_for_reply is active or after a send, and otherwise. */
  readonly fetchSeconds: number
  readonly idleFetchSeconds: number
  /** Absolute path, or ":memory:". */
  readonly databasePath: string
  /** PostgreSQL instead of the SQLite file at databasePath: a postgres:// URL, with its password. */
  readonly databaseUrl: Redacted.Redacted<string> | undefined
  readonly logLevel: LogLevelName
  readonly autoCreateConversations: boolean
  readonly enableAiContext: boolean
  readonly enableMms: boolean
  /** Where REST calls go instead of https://*.twilio.com (an emulator in tests). */
  readonly twilioApiBaseUrl: string | undefined
  readonly twilioTimeoutMs: number
  /** Send guard: E.164 numbers and "+CC" prefixes a send may go to; undefined allows all. */
  readonly allowedRecipients: ReadonlyArray<string> | undefined
  /** Send guard: outbound messages allowed per rolling hour, across all processes; undefined for no cap. */
  readonly maxPerHour: number | undefined
  /** Bearer tokens `/mcp` accepts (the `http` command requires one); empty when MCP_AUTH_TOKEN is unset. */
  readonly mcpAuthTokens: ReadonlyArray<Redacted.Redacted<string>>
  /** Host names `/mcp` accepts in Host and Origin besides loopback and WEBHOOK_BASE_URL's host (lower case). */
  readonly mcpAllowedHosts: ReadonlyArray<string>
  /** OAuth access tokens on `/mcp` (OAuthConfig.ts). */
  readonly oauth: OAuthMode
  /** In-memory Twilio: nothing leaves the machine. */
  readonly sandbox: boolean
}

export class AppConfig extends Context.Tag("twilio-mcp/AppConfig")<AppConfig, AppConfigShape>() {
  static readonly layer = (config: AppConfigShape) => Layer.succeed(AppConfig, config)
}

/** Who sends when a send names no `from`: the phone number, else the Messaging Service. */
export const defaultSender = (config: AppConfigShape): string => config.phoneNumber ?? config.messagingServiceSid!

/** Our side of WhatsApp threads: the WhatsApp sender, else the Messaging Service (its pool's WhatsApp sender). */
export const whatsappSender = (config: AppConfigShape): string | undefined => config.whatsappNumber ?? config.messagingServiceSid

export const toLogLevel = (name: LogLevelName): LogLevel.LogLevel =>
  ({ debug: LogLevel.Debug, info: LogLevel.Info, warn: LogLevel.Warning, error: LogLevel.Error })[name]
