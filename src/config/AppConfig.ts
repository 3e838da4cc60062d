import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as util from "node:util"
import packageJson from "../../package.json" with { type: "json" }
import { PhoneNumber } from "../domain/Address.js"
import { publicUrlProblem } from "../domain/PublicUrl.js"
import { withoutCredentials } from "../domain/Text.js"

export type LogLevelName = "debug" | "info" | "warn" | "error"

export interface AppConfigShape {
  readonly accountSid: string
  readonly authToken: Redacted.Redacted<string>
  /** The default sender; absent only when a Messaging Service sends. */
  readonly phoneNumber: PhoneNumber | undefined
  readonly messagingServiceSid: string | undefined
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
  /** In-memory Twilio: nothing leaves the machine. */
  readonly sandbox: boolean
}

export class AppConfig extends Context.Tag("twilio-mcp/AppConfig")<AppConfig, AppConfigShape>() {
  static readonly layer = (config: AppConfigShape) => Layer.succeed(AppConfig, config)
}

export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  problems: Schema.Array(Schema.String),
  /** The `.env` files read, each with where it is ("/.env (working directory)"), the first winning over the second. */
  dotEnvFiles: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Environment validation failed:\n${this.problems.map((p) => `  - ${p}`).join("\n")}\n` +
      `Set these variables in the MCP client's "env" block or in a .env file (see .env.example): ` +
      `${this.dotEnvFiles.join(" or ")}. The environment wins over .env files` +
      `${this.dotEnvFiles.length > 1 ? ", and the first file over the second" : ""}. ` +
      "Or run with --sandbox (or TWILIO_MCP_SANDBOX=true) to try the server without a Twilio account."
  }
}

// ---------------------------------------------------------------------------------------------------------
// Where the server runs from, and so where its data goes

/** The nearest folder holding package.json, from this module's: the project root, bundled or from source. */
const findProjectRoot = (from: string): string =>
  fs.existsSync(path.join(from, "package.json")) || path.dirname(from) === from ? from : findProjectRoot(path.dirname(from))

export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)))

/** What the default database location depends on; tests give their own. */
export interface Location {
  /** The folder holding package.json: a source checkout, or the installed package. */
  readonly projectRoot: string
  readonly cwd: string
  readonly platform: NodeJS.Platform
  readonly homeDir: string
}

export const currentLocation = (): Location => ({
  projectRoot,
  cwd: process.cwd(),
  platform: process.platform,
  homeDir: os.homedir()
})

/** Installed from the registry (npx cache, global install, a client's extension folder): code inside node_modules. */
export const isInstalledPackage = (location: Location) => location.projectRoot.split(/[\\/]/).includes("node_modules")

/** How a person starts this server from a terminal, wherever it runs from. */
export const commandLine = (location: Location) => {
  if (isInstalledPackage(location)) return `npx -y ${packageJson.name}`
  const bundle = (location.platform === "win32" ? path.win32 : path.posix).join(location.projectRoot, "dist", "index.js")
  return `node ${/\s/.test(bundle) ? `"${bundle}"` : bundle}`
}

/**
 * The folder relative DATABASE_PATHs, the default databases and the second `.env` belong to. From a checkout,
 * the project folder (`./data/…`). An installed package's folder is replaced on every upgrade and npx cache
 * clean, so there it is the platform's per-user data folder, under the package's name. Read from the
 * environment only: a `.env` cannot move the folder it is read from.
 */
const dataFolder = (location: Location): Config.Config<string> => {
  if (!isInstalledPackage(location)) return Config.succeed(location.projectRoot)
  const paths = location.platform === "win32" ? path.win32 : path.posix
  /** An absolute path from `name`; anything else is ignored, as the XDG specification says. */
  const absoluteOr = (name: string, fallback: string) =>
    Config.map(Config.option(Config.string(name)), (value) =>
      Option.getOrElse(Option.filter(value, paths.isAbsolute), () => fallback))
  const root = location.platform === "win32"
    ? absoluteOr("APPDATA", paths.join(location.homeDir, "AppData", "Roaming"))
    : location.platform === "darwin"
    ? Config.succeed(paths.join(location.homeDir, "Library", "Application Support"))
    : absoluteOr("XDG_DATA_HOME", paths.join(location.homeDir, ".local", "share"))
  return Config.map(root, (dir) => paths.join(dir, packageJson.name))
}

// ---------------------------------------------------------------------------------------------------------
// Values: each variable is a Schema from its trimmed text, with messages a person acts on

const BooleanFromEnv = Schema.transformOrFail(Schema.String, Schema.Boolean, {
  strict: true,
  decode: (s, _, ast) => {
    const v = s.toLowerCase()
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

/** Port 0 would listen wherever the system says, which Twilio can never be told. */
const Port = Schema.NumberFromString.pipe(
  Schema.int({ message: () => "must be a whole number" }),
  Schema.filter((n) => n !== 0 || "must not be 0: Twilio needs a fixed port to reach (choose one, e.g. 3000)"),
  Schema.between(1, 65535, { message: () => "must be between 1 and 65535" })
)

const logLevels: ReadonlyArray<LogLevelName> = ["debug", "info", "warn", "error"]

const inboundSettings = ["auto", "webhook", "poll"] as const

const InboundFromEnv = Schema.String.pipe(
  Schema.filter((s): s is (typeof inboundSettings)[number] => (inboundSettings as ReadonlyArray<string>).includes(s), {
    message: (issue) => `must be one of ${inboundSettings.join(", ")} (got ${JSON.stringify(issue.actual)})`
  })
)

/** A string filter, not a Literal union: the union reports one "Expected …" line per allowed value. */
const LogLevelFromEnv = Schema.String.pipe(
  Schema.filter((s): s is LogLevelName => (logLevels as ReadonlyArray<string>).includes(s), {
    message: (issue) => `must be one of ${logLevels.join(", ")} (got ${JSON.stringify(issue.actual)})`
  })
)

/** An http(s) base URL, without trailing slashes. */
const HttpUrl = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const u = new URL(s)
      if (u.protocol !== "http:" && u.protocol !== "https:") return "must start with http:// or https://"
      return u.search === "" && u.hash === "" ? true : "must not contain a query string or #fragment"
    } catch {
      return `must be an absolute URL such as https://abc123.ngrok.io (got "${s}")`
    }
  }),
  Schema.transform(Schema.String, { strict: true, decode: (s) => s.replace(/\/+$/, ""), encode: (s) => s })
)

const AccountSid = Schema.String.pipe(
  Schema.pattern(/^AC[0-9a-fA-F]{32}$/, { message: () => "must start with AC followed by 32 hex characters" })
)
const AuthToken = Schema.String.pipe(Schema.minLength(32, { message: () => "must be at least 32 characters" }))
const MessagingServiceSid = Schema.String.pipe(
  Schema.pattern(/^MG[0-9a-fA-F]{32}$/, { message: () => "must start with MG followed by 32 hex characters" })
)
const Recipients = Schema.split(",").pipe(
  Schema.compose(Schema.Array(Schema.Trim.pipe(
    Schema.pattern(/^\+\d{1,15}$/, {
      message: () => "must list E.164 numbers or +CC country prefixes separated by commas (e.g. +15551234567,+44)"
    })
  )))
)
const NonEmpty = Schema.String.pipe(Schema.minLength(1))

/** A PostgreSQL URL. The value is a secret (it may hold a password): no message quotes it. */
const PostgresUrl = Schema.String.pipe(
  Schema.filter((s) => {
    const example = "postgres://user:password@db.example.com:5432/twilio"
    try {
      const u = new URL(s)
      return u.protocol === "postgres:" || u.protocol === "postgresql:"
        ? u.hostname !== "" || `must name a host (e.g. ${example})`
        : `must start with postgres:// or postgresql:// (e.g. ${example}); unset it to use the SQLite file at DATABASE_PATH`
    } catch {
      return `must be a URL such as ${example}`
    }
  })
)

/** A comma-separated list, each item trimmed and matching `pattern`; `message` never quotes a value (tokens are secrets). */
const CommaList = (pattern: RegExp, message: string) =>
  Schema.split(",").pipe(Schema.compose(Schema.Array(Schema.Trim.pipe(Schema.pattern(pattern, { message: () => message })))))
const McpTokens = CommaList(
  /^[A-Za-z0-9._~+/-]{32,}=*$/,
  "must be one or more tokens of 32+ characters (letters, digits, - . _ ~ + /) separated by commas; generate one with: openssl rand -hex 32"
)
const HostNames = CommaList(
  /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])$/,
  "must list host names or IP addresses, without scheme or port, separated by commas (e.g. mcp.example.com,10.0.0.5)"
)

/**
 * The variable `name`, trimmed and decoded by `schema`. Blank counts as unset, so that a default applies.
 * (`Schema.Config` would do the decoding, but words its errors as a tree; one line per variable reads better.)
 */
const variable = <A>(name: string, schema: Schema.Schema<A, string>): Config.Config<A> =>
  Config.mapOrFail(Config.string(name), (raw) => {
    const value = raw.trim()
    // Paths here are relative to the variable's own: the error comes out as [name].
    if (value === "") return Either.left(ConfigError.MissingData([], `${name} is blank`))
    return Either.mapLeft(
      Schema.decodeEither(schema)(value),
      (error) => ConfigError.InvalidData([], ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.message).join("; "))
    )
  })

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), Option.getOrUndefined)

/** Also an environment switch, for clients and installers that set environment rather than arguments. */
const sandboxSwitch = Config.withDefault(variable("TWILIO_MCP_SANDBOX", BooleanFromEnv), false)

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

const webhookPort = Config.withDefault(variable("WEBHOOK_PORT", Port), 3000)

/**
 * WEBHOOK_BASE_URL, and how inbound messages arrive (INBOUND). Without a URL, the local listener's stands for it
 * (signatures of webhooks sent to it are checked against it). The sandbox takes its inbound messages from
 * simulate_inbound and its carrier, never from Twilio.
 */
const webhookUrls = (sandbox: boolean) =>
  Config.mapOrFail(
    Config.all([optional(variable("WEBHOOK_BASE_URL", HttpUrl)), webhookPort, Config.withDefault(variable("INBOUND", InboundFromEnv), "auto")]),
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
const settings = (sandbox: boolean, location: Location, folder: string): Config.Config<AppConfigShape> =>
  Config.all([
    sandbox ? Config.succeed(sandboxAccount) : twilioAccount,
    webhookUrls(sandbox),
    Config.all({
      webhookHost: Config.withDefault(variable("WEBHOOK_HOST", NonEmpty), "127.0.0.1"),
      webhookPort,
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
      mcpAllowedHosts: Config.map(Config.withDefault(variable("MCP_ALLOWED_HOSTS", HostNames), []), (hosts) => hosts.map((h) => h.toLowerCase()))
    })
  ]).pipe(Config.map(([account, urls, rest]): AppConfigShape => ({ ...account, ...urls, ...rest, sandbox })))

/** One line per problem, each starting with the variable's name; a variable missing from every source once. */
const problemsOf = (error: ConfigError.ConfigError): ReadonlyArray<string> => {
  switch (error._op) {
    case "And":
      return [...problemsOf(error.left), ...problemsOf(error.right)]
    case "Or":
      return problemsOf(error.left)
    case "MissingData":
      return [`${error.path.join("_")} is required`]
    default:
      return [`${error.path.join("_")} ${error.message}`]
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sources: the environment, then `.env` in the working directory, then `.env` in the data folder

/** A `.env` file as a provider; a missing one provides nothing, an unreadable one is a problem to report. */
const dotEnv = (file: string) =>
  Effect.try({
    try: () => {
      const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
      // Node's parser: values are taken as written (no `$VAR` expansion that would alter a secret).
      return ConfigProvider.fromMap(new Map(Object.entries(util.parseEnv(text) as Record<string, string>)))
    },
    catch: (cause) => `${file} cannot be read (${(cause as Error).message})`
  })

const resolve = (
  environment: ConfigProvider.ConfigProvider,
  options: { readonly sandbox: boolean; readonly location: Location; readonly readDotEnv: boolean }
): Effect.Effect<AppConfigShape, ConfigInvalid> =>
  Effect.gen(function*() {
    const folder = yield* Effect.orDie(environment.load(dataFolder(options.location)))
    const folderName = isInstalledPackage(options.location) ? "data folder" : "project folder"
    const dotEnvFiles = options.location.cwd === folder
      ? [{ file: path.join(folder, ".env"), where: `working directory and ${folderName}` }]
      : [{ file: path.join(options.location.cwd, ".env"), where: "working directory" }, { file: path.join(folder, ".env"), where: folderName }]
    const sources = options.readDotEnv ? yield* Effect.forEach(dotEnvFiles, ({ file }) => Effect.either(dotEnv(file))) : []
    const provider = sources.reduce(
      (provider, source) => Either.isRight(source) ? ConfigProvider.orElse(provider, () => source.right) : provider,
      environment
    )
    const switched = yield* Effect.either(provider.load(sandboxSwitch))
    const sandbox = options.sandbox || Either.getOrElse(switched, () => false)
    const loaded = yield* Effect.either(provider.load(settings(sandbox, options.location, folder)))
    const problems = [
      ...sources.flatMap((source) => Either.isLeft(source) ? [source.left] : []),
      ...Either.isLeft(switched) ? problemsOf(switched.left) : [],
      ...Either.isLeft(loaded) ? problemsOf(loaded.left) : []
    ]
    if (Either.isLeft(loaded) || problems.length > 0) {
      return yield* new ConfigInvalid({
        problems: Array.from(new Set(problems)),
        dotEnvFiles: dotEnvFiles.map(({ file, where }) => `${file} (${where})`)
      })
    }
    return loaded.right
  })

/**
 * The configuration from the process: the environment wins, then `.env` in the working directory, then `.env`
 * in the data folder (the project folder from a checkout: Claude Desktop starts servers in `/`).
 */
export const loadConfig = (options: { readonly sandbox: boolean; readonly location?: Location }) =>
  Effect.suspend(() =>
    resolve(ConfigProvider.fromEnv(), { sandbox: options.sandbox, location: options.location ?? currentLocation(), readDotEnv: true })
  )

/** The configuration from `env` alone (no `.env` files): what tests and embedders use. */
export const parseConfig = (
  env: Record<string, string | undefined>,
  options: { readonly sandbox: boolean; readonly location?: Location }
): Either.Either<AppConfigShape, ConfigInvalid> =>
  Effect.runSync(Effect.either(resolve(
    ConfigProvider.fromMap(new Map(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))),
    { sandbox: options.sandbox, location: options.location ?? currentLocation(), readDotEnv: false }
  )))

export const toLogLevel = (name: LogLevelName): LogLevel.LogLevel =>
  ({ debug: LogLevel.Debug, info: LogLevel.Info, warn: LogLevel.Warning, error: LogLevel.Error })[name]
