import * as Redacted from "effect/Redacted"
import { makeAppLayer } from "./AppLayer.js"
import type { AppConfigShape } from "./Config.js"
import type { PhoneNumber } from "./domain/Address.js"
import { TwilioMemory } from "./TwilioMemory.js"

export const TEST_ACCOUNT_SID = `AC${"a".repeat(32)}`
export const TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef0123"
export const TEST_PHONE = "+15005550006" as PhoneNumber

/** A valid configuration for tests: in-memory SQLite, loopback webhooks on a free port. */
export const testConfig = (overrides: Partial<AppConfigShape> = {}): AppConfigShape => ({
  accountSid: TEST_ACCOUNT_SID,
  authToken: Redacted.make(TEST_AUTH_TOKEN),
  phoneNumber: TEST_PHONE,
  messagingServiceSid: undefined,
  webhookBaseUrl: "https://twilio-mcp.example.test",
  webhookHost: "127.0.0.1",
  webhookPort: 0,
  databasePath: ":memory:",
  logLevel: "error",
  autoCreateConversations: true,
  enableAiContext: true,
  enableMms: true,
  twilioApiBaseUrl: undefined,
  twilioTimeoutMs: 2_000,
  allowedRecipients: undefined,
  maxPerHour: undefined,
  sandbox: false,
  ...overrides
})

/**
 * The whole service graph on the in-memory Twilio and SQLite: what service tests run on. `TwilioMemory`
 * is in the context to script Twilio's answers.
 */
export const TestLayer = (overrides: Partial<AppConfigShape> = {}) =>
  makeAppLayer(testConfig(overrides), TwilioMemory.layer)
