import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Services } from "../../src/App.js"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import type { PhoneNumber } from "../../src/domain/Address.js"
import { Threading } from "../../src/messaging/Threading.js"
import { ConversationStore } from "../../src/storage/ConversationStore.js"
import { MessageStore } from "../../src/storage/MessageStore.js"
import { SqlLive } from "../../src/storage/Sql.js"
import type { Twilio } from "../../src/twilio/Twilio.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { databaseUrlFor, onPostgres } from "./Dialect.js"

export const TEST_ACCOUNT_SID = `AC${"a".repeat(32)}`
export const TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef0123"
export const TEST_PHONE = "+15005550006" as PhoneNumber
/** A second number the test account owns (the in-memory Twilio's), to send `from` other than the default. */
export const TEST_SECOND_PHONE = "+15005550007" as PhoneNumber
const TEST_WEBHOOK_BASE_URL = "https://twilio-mcp.example.test"

/**
 * A valid configuration for tests: in-memory SQLite (or, in the postgres project, what stands for it: see
 * Dialect.ts), loopback webhooks on a free port.
 */
export const testConfig = (overrides: Partial<AppConfigShape> = {}): AppConfigShape => ({
  accountSid: TEST_ACCOUNT_SID,
  authToken: Redacted.make(TEST_AUTH_TOKEN),
  phoneNumber: TEST_PHONE,
  messagingServiceSid: undefined,
  webhookBaseUrl: TEST_WEBHOOK_BASE_URL,
  webhookSigningBaseUrl: Redacted.make(overrides.webhookBaseUrl ?? TEST_WEBHOOK_BASE_URL),
  webhookHost: "127.0.0.1",
  webhookPort: 0,
  inbound: "webhook",
  fetchSeconds: 2,
  idleFetchSeconds: 60,
  databasePath: ":memory:",
  databaseUrl: undefined,
  logLevel: "error",
  autoCreateConversations: true,
  enableAiContext: true,
  enableMms: true,
  twilioApiBaseUrl: undefined,
  twilioTimeoutMs: 2_000,
  allowedRecipients: undefined,
  maxPerHour: undefined,
  mcpAuthTokens: [],
  mcpAllowedHosts: [],
  oauth: { _tag: "Off" },
  sandbox: false,
  ...overrides
})

/**
 * The app's services on a given Twilio layer, with the stores tests read directly (the same instances the
 * services use: layers are shared by reference within one build).
 */
export const makeTestLayer = <T>(config: AppConfigShape, twilio: Layer.Layer<T | Twilio, never, AppConfig>) =>
  Layer.mergeAll(Services, MessageStore.Default, Threading.Default, ConversationStore.Default, SqlLive).pipe(
    Layer.provideMerge(twilio),
    Layer.provideMerge(testConfigLayer(config))
  )

/** The configuration as given; in the postgres project, with the DATABASE_URL standing for its DATABASE_PATH. */
export const testConfigLayer = (config: AppConfigShape) =>
  onPostgres && config.databaseUrl === undefined
    ? Layer.effect(AppConfig, Effect.map(Effect.promise(() => databaseUrlFor(config.databasePath)), (url) => ({ ...config, databaseUrl: Redacted.make(url) })))
    : AppConfig.layer(config)

/**
 * The whole service graph on the in-memory Twilio and SQLite: what service tests run on. `TwilioMemory`
 * is in the context to script Twilio's answers; the account owns TEST_PHONE and TEST_SECOND_PHONE.
 */
export const TestLayer = (overrides: Partial<AppConfigShape> = {}) => makeTestLayer(testConfig(overrides), TwilioMemory.owning([TEST_SECOND_PHONE]))
