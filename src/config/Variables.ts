import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { LogLevelName } from "./AppConfig.js"

// Values: each variable is a Schema from its trimmed text, with messages a person acts on.

export const BooleanFromEnv = Schema.transformOrFail(Schema.String, Schema.Boolean, {
  strict: true,
  decode: (s, _, ast) => {
    const v = s.toLowerCase()
    if (["true", "1", "yes", "on"].includes(v)) return ParseResult.succeed(true)
    if (["false", "0", "no", "off"].includes(v)) return ParseResult.succeed(false)
    return ParseResult.fail(new ParseResult.Type(ast, s, `must be true or false (got "${s}")`))
  },
  encode: (b) => ParseResult.succeed(String(b))
})

export const IntFromEnv = (min: number, max: number) =>
  Schema.NumberFromString.pipe(
    Schema.int({ message: () => "must be a whole number" }),
    Schema.between(min, max, { message: () => `must be between ${min} and ${max}` })
  )

/** Port 0 would listen wherever the system says, which can never be told: to Twilio, or as the sandbox's webhook URL. */
export const Port = (sandbox: boolean) =>
  Schema.NumberFromString.pipe(
    Schema.int({ message: () => "must be a whole number" }),
    Schema.filter((n) =>
      n !== 0 || (sandbox
        ? "must not be 0: the sandbox's webhook URL is http://127.0.0.1:WEBHOOK_PORT, so the port must be known (choose one, e.g. 3000)"
        : "must not be 0: Twilio needs a fixed port to reach (choose one, e.g. 3000)")
    ),
    Schema.between(1, 65535, { message: () => "must be between 1 and 65535" })
  )

const logLevels: ReadonlyArray<LogLevelName> = ["debug", "info", "warn", "error"]

/** A string filter, not a Literal union: the union reports one "Expected …" line per allowed value. */
export const LogLevelFromEnv = Schema.String.pipe(
  Schema.filter((s): s is LogLevelName => (logLevels as ReadonlyArray<string>).includes(s), {
    message: (issue) => `must be one of ${logLevels.join(", ")} (got ${JSON.stringify(issue.actual)})`
  })
)

const inboundSettings = ["auto", "webhook", "poll"] as const

/** INBOUND: how inbound messages arrive. */
export const InboundFromEnv = Schema.String.pipe(
  Schema.filter((s): s is (typeof inboundSettings)[number] => (inboundSettings as ReadonlyArray<string>).includes(s), {
    message: (issue) => `must be one of ${inboundSettings.join(", ")} (got ${JSON.stringify(issue.actual)})`
  })
)

/** An http(s) base URL, without trailing slashes. */
export const HttpUrl = Schema.String.pipe(
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

export const AccountSid = Schema.String.pipe(
  Schema.pattern(/^AC[0-9a-fA-F]{32}$/, { message: () => "must start with AC followed by 32 hex characters" })
)
export const AuthToken = Schema.String.pipe(Schema.minLength(32, { message: () => "must be at least 32 characters" }))
export const MessagingServiceSid = Schema.String.pipe(
  Schema.pattern(/^MG[0-9a-fA-F]{32}$/, { message: () => "must start with MG followed by 32 hex characters" })
)
export const Recipients = Schema.split(",").pipe(
  Schema.compose(Schema.Array(Schema.Trim.pipe(
    Schema.pattern(/^\+\d{1,15}$/, {
      message: () => "must list E.164 numbers or +CC country prefixes separated by commas (e.g. +15551234567,+44)"
    })
  )))
)
export const NonEmpty = Schema.String.pipe(Schema.minLength(1))

/** A PostgreSQL URL. The value is a secret (it may hold a password): no message quotes it. */
export const PostgresUrl = Schema.String.pipe(
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
export const McpTokens = CommaList(
  /^[A-Za-z0-9._~+/-]{32,}=*$/,
  "must be one or more tokens of 32+ characters (letters, digits, - . _ ~ + /) separated by commas; generate one with: openssl rand -hex 32"
)
export const HostNames = CommaList(
  /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])$/,
  "must list host names or IP addresses, without scheme or port, separated by commas (e.g. mcp.example.com,10.0.0.5)"
)

/**
 * The variable `name`, trimmed and decoded by `schema`. Blank counts as unset, so that a default applies.
 * (`Schema.Config` would do the decoding, but words its errors as a tree; one line per variable reads better.)
 */
export const variable = <A>(name: string, schema: Schema.Schema<A, string>): Config.Config<A> =>
  Config.mapOrFail(Config.string(name), (raw) => {
    const value = raw.trim()
    // Paths here are relative to the variable's own: the error comes out as [name].
    if (value === "") return Either.left(ConfigError.MissingData([], `${name} is blank`))
    return Either.mapLeft(
      Schema.decodeEither(schema)(value),
      (error) => ConfigError.InvalidData([], ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.message).join("; "))
    )
  })

export const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), Option.getOrUndefined)
