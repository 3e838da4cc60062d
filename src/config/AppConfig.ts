import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as util from "node:util"
import { PhoneNumber } from "../domain/Address.js"
import { withoutCredentials } from "../domain/Text.js"

export type LogLevelName = "debug" | "info" | "warn" | "error"

export interface AppConfigShape {
  readonly accountSid: string
  readonly authToken: Redacted.Redacted<string>
  /** The default sender; absent only when a Messaging Service sends. */
  readonly phoneNumber: PhoneNumber | undefined
  readonly messagingServiceSid: string | undefined
  /** Public base URL Twilio calls, without a trailing slash and without credentials: what may be shown. */
  readonly webhookBaseUrl: string
  /** The same URL exactly as configured, with `user:password@` if it has them: what Twilio calls and signs. */
  readonly webhookSigningBaseUrl: Redacted.Redacted<string>
  readonly webhookHost: string
  readonly webhookPort: number
  /** Absolute path, or ":memory:". */
  readonly databasePath: string
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
  /** In-memory Twilio: nothing leaves the machine. */
  readonly sandbox: boolean
}

export class AppConfig extends Context.Tag("twilio-mcp/AppConfig")<AppConfig, AppConfigShape>() {
  static readonly layer = (config: AppConfigShape) => Layer.succeed(AppConfig, config)
}

export class ConfigInvalid extends Data.TaggedError("ConfigInvalid")<{ readonly problems: ReadonlyArray<string> }> {
  override get message() {
    return `Environment validation failed:\n${this.problems.map((p) => `  - ${p}`).join("\n")}\n` +
      "Set these variables in the MCP client's \"env\" block or in a .env file in the working directory " +
      "(see .env.example), or run with --sandbox to try the server without a Twilio account."
  }
}

/** The nearest folder holding package.json, from this module's: the project root, bundled or from source. */
const findProjectRoot = (from: string): string =>
  fs.existsSync(path.join(from, "package.json")) || path.dirname(from) === from ? from : findProjectRoot(path.dirname(from))

export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)))

const BooleanFromEnv = Schema.transformOrFail(Schema.String, Schema.Boolean, {
  strict: true,
  decode: (s, _, ast) => {
    const v = s.trim().toLowerCase()
    if (["true", "1", "yes", "on"].includes(v)) return ParseResult.succeed(true)
    if (["false", "0", "no", "off"].includes(v)) return ParseResult.succeed(false)
    return ParseResult.fail(new ParseResult.Type(ast, s, `must be true or false (got "${s}")`))
  },
  encode: (b) => ParseResult.succeed(String(b))
})

const IntFromEnv = (min: number, max: number) =>
  Schema.NumberFromString.pipe(
    Schema.int({ message: () => "must be a whole number" }),
    Schema.between(min, max, { message: () => `must be between ${min} and ${max}` })
  )

const logLevels: ReadonlyArray<LogLevelName> = ["debug", "info", "warn", "error"]

/** A string filter, not a Literal union: the union reports one "Expected …" line per allowed value. */
const LogLevelFromEnv = Schema.String.pipe(
  Schema.filter((s): s is LogLevelName => (logLevels as ReadonlyArray<string>).includes(s), {
    message: (issue) => `must be one of ${logLevels.join(", ")} (got ${JSON.stringify(issue.actual)})`
  })
)

const HttpUrl = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const u = new URL(s)
      if (u.protocol !== "http:" && u.protocol !== "https:") return "must start with http:// or https://"
      return u.search === "" && u.hash === "" ? true : "must not contain a query string or #fragment"
    } catch {
      return `must be an absolute URL such as https://abc123.ngrok.io (got "${s}")`
    }
  })
)

/** A comma-separated list, each item trimmed and matching `pattern`; `message` never quotes a value. */
const CommaList = (pattern: RegExp, message: string) =>
  Schema.split(",").pipe(Schema.compose(Schema.Array(Schema.Trim.pipe(Schema.pattern(pattern, { message: () => message })))))

const optionalWithDefault = <A, I>(schema: Schema.Schema<A, I>, value: () => A) =>
  Schema.optionalWith(schema, { default: value })

const Env = Schema.Struct({
  TWILIO_ACCOUNT_SID: Schema.String.pipe(
    Schema.pattern(/^AC[0-9a-fA-F]{32}$/, { message: () => "must start with AC followed by 32 hex characters" })
  ),
  TWILIO_AUTH_TOKEN: Schema.String.pipe(Schema.minLength(32, { message: () => "must be at least 32 characters" })),
  TWILIO_PHONE_NUMBER: Schema.optional(PhoneNumber),
  TWILIO_MESSAGING_SERVICE_SID: Schema.optional(
    Schema.String.pipe(
      Schema.pattern(/^MG[0-9a-fA-F]{32}$/, { message: () => "must start with MG followed by 32 hex characters" })
    )
  ),
  WEBHOOK_BASE_URL: HttpUrl,
  WEBHOOK_HOST: optionalWithDefault(Schema.String.pipe(Schema.minLength(1)), () => "127.0.0.1"),
  WEBHOOK_PORT: optionalWithDefault(IntFromEnv(0, 65535), () => 3000),
  DATABASE_PATH: optionalWithDefault(Schema.String.pipe(Schema.minLength(1)), () => "./data/twilio.db"),
  LOG_LEVEL: optionalWithDefault(LogLevelFromEnv, () => "info" as const),
  AUTO_CREATE_CONVERSATIONS: optionalWithDefault(BooleanFromEnv, () => true),
  ENABLE_AI_CONTEXT: optionalWithDefault(BooleanFromEnv, () => true),
  ENABLE_MMS: optionalWithDefault(BooleanFromEnv, () => true),
  TWILIO_API_BASE_URL: Schema.optional(HttpUrl),
  TWILIO_TIMEOUT_MS: optionalWithDefault(IntFromEnv(100, 120_000), () => 15_000),
  SMS_ALLOWED_RECIPIENTS: Schema.optional(
    Schema.split(",").pipe(
      Schema.compose(Schema.Array(Schema.Trim.pipe(
        Schema.pattern(/^\+\d{1,15}$/, {
          message: () => "must list E.164 numbers or +CC country prefixes separated by commas (e.g. +15551234567,+44)"
        })
      )))
    )
  ),
  SMS_MAX_PER_HOUR: Schema.optional(IntFromEnv(1, 1_000_000)),
  MCP_AUTH_TOKEN: Schema.optional(CommaList(
    /^[A-Za-z0-9._~+/-]{32,}=*$/,
    "must be one or more tokens of 32+ characters (letters, digits, - . _ ~ + /) separated by commas; " +
      "generate one with: openssl rand -hex 32"
  )),
  MCP_ALLOWED_HOSTS: Schema.optional(CommaList(
    /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])$/,
    "must list host names or IP addresses, without scheme or port, separated by commas (e.g. mcp.example.com,10.0.0.5)"
  ))
})

/** Values that let the sandbox run with no Twilio account; they never reach Twilio. */
const sandboxDefaults: Record<string, string> = {
  TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
  TWILIO_AUTH_TOKEN: "sandbox-auth-token-not-a-real-secret",
  TWILIO_PHONE_NUMBER: "+15005550006",
  DATABASE_PATH: "./data/sandbox.db"
}

const sandboxOwned = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER", "TWILIO_MESSAGING_SERVICE_SID"]

/** Reads `.env` from `dir` without overriding variables already set; missing file is fine. */
export const readDotEnv = (dir: string): Record<string, string> => {
  try {
    return util.parseEnv(fs.readFileSync(path.join(dir, ".env"), "utf8")) as Record<string, string>
  } catch {
    return {}
  }
}

/**
 * Validates the environment in one pass and reports every problem at once.
 * A relative DATABASE_PATH is resolved against `baseDir` (the project root), never the working directory:
 * Claude Desktop starts servers in `/`.
 */
export const parseConfig = (
  env: Record<string, string | undefined>,
  options: { readonly sandbox: boolean; readonly baseDir: string }
): Either.Either<AppConfigShape, ConfigInvalid> => {
  const input: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") input[key] = value.trim()
  }
  if (options.sandbox) {
    for (const key of sandboxOwned) delete input[key]
    for (const [key, value] of Object.entries(sandboxDefaults)) input[key] ??= value
    // The sandbox's "public" URL is its own listener, wherever WEBHOOK_PORT puts it.
    input.WEBHOOK_BASE_URL ??= `http://127.0.0.1:${input.WEBHOOK_PORT ?? 3000}`
  }
  const problems = Either.match(Schema.decodeUnknownEither(Env, { errors: "all" })(input), {
    onLeft: (error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error)
        // An optional variable's union also reports "Expected undefined": noise next to the real problem.
        .filter((issue) => !issue.message.startsWith("Expected undefined"))
        .map((issue) => `${String(issue.path[0])} ${issue.message.startsWith("is missing") ? "is required" : issue.message}`),
    onRight: (): Array<string> => []
  })
  if (input.TWILIO_PHONE_NUMBER === undefined && input.TWILIO_MESSAGING_SERVICE_SID === undefined) {
    problems.push("TWILIO_PHONE_NUMBER is required (E.164, e.g. +15551234567) unless TWILIO_MESSAGING_SERVICE_SID is set")
  }
  if (problems.length > 0) return Either.left(new ConfigInvalid({ problems }))
  return Schema.decodeUnknownEither(Env)(input).pipe(
    Either.mapLeft(() => new ConfigInvalid({ problems })),
    Either.map((e): AppConfigShape => ({
      accountSid: e.TWILIO_ACCOUNT_SID,
      authToken: Redacted.make(e.TWILIO_AUTH_TOKEN),
      phoneNumber: e.TWILIO_PHONE_NUMBER,
      messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID,
      webhookBaseUrl: withoutCredentials(e.WEBHOOK_BASE_URL.replace(/\/+$/, "")).replace(/\/+$/, ""),
      webhookSigningBaseUrl: Redacted.make(e.WEBHOOK_BASE_URL.replace(/\/+$/, "")),
      webhookHost: e.WEBHOOK_HOST,
      webhookPort: e.WEBHOOK_PORT,
      databasePath: e.DATABASE_PATH === ":memory:" ? e.DATABASE_PATH : path.resolve(options.baseDir, e.DATABASE_PATH),
      logLevel: e.LOG_LEVEL,
      autoCreateConversations: e.AUTO_CREATE_CONVERSATIONS,
      enableAiContext: e.ENABLE_AI_CONTEXT,
      enableMms: e.ENABLE_MMS,
      twilioApiBaseUrl: e.TWILIO_API_BASE_URL?.replace(/\/+$/, ""),
      twilioTimeoutMs: e.TWILIO_TIMEOUT_MS,
      allowedRecipients: e.SMS_ALLOWED_RECIPIENTS,
      maxPerHour: e.SMS_MAX_PER_HOUR,
      mcpAuthTokens: (e.MCP_AUTH_TOKEN ?? []).map(Redacted.make),
      mcpAllowedHosts: (e.MCP_ALLOWED_HOSTS ?? []).map((host) => host.toLowerCase()),
      sandbox: options.sandbox
    }))
  )
}

/** The process environment merged over `.env` in the working directory. */
export const loadConfig = (options: { readonly sandbox: boolean }) =>
  Effect.suspend(() => parseConfig({ ...readDotEnv(process.cwd()), ...process.env }, { ...options, baseDir: projectRoot }))

export const toLogLevel = (name: LogLevelName): LogLevel.LogLevel =>
  ({ debug: LogLevel.Debug, info: LogLevel.Info, warn: LogLevel.Warning, error: LogLevel.Error })[name]
