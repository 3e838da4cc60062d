import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { isLoopback, type OAuthMode } from "./OAuthMode.js"
import { BooleanFromEnv, optional, variable } from "./Variables.js"

/** An issuer identifier (RFC 8414 §2): https (http on loopback), no query or fragment; kept as written. */
const IssuerUrl = Schema.String.pipe(
  Schema.filter((raw) => {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return "must be the authorization server's issuer URL, e.g. https://auth.example.com/realms/sms"
    }
    if (url.search !== "" || url.hash !== "" || raw.includes("?") || raw.includes("#")) {
      return "must not have a query or fragment (it is the issuer identifier, as the server's metadata shows it)"
    }
    return url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname)) ||
      "must be an https:// URL (http:// only on localhost, 127.0.0.1 or [::1])"
  })
)

/** MCP_OAUTH_ISSUER (Mode A) or MCP_OAUTH_BUILTIN=true (Mode B); both at once is refused. */
export const oauthConfig: Config.Config<OAuthMode> = Config.mapOrFail(
  Config.all({
    issuer: optional(variable("MCP_OAUTH_ISSUER", IssuerUrl)),
    builtin: Config.withDefault(variable("MCP_OAUTH_BUILTIN", BooleanFromEnv), false)
  }),
  ({ builtin, issuer }): Either.Either<OAuthMode, ConfigError.ConfigError> =>
    issuer !== undefined && builtin
      ? Either.left(ConfigError.InvalidData(
        ["MCP_OAUTH_ISSUER"],
        "and MCP_OAUTH_BUILTIN=true cannot both be set: use an external authorization server or the built-in one, not both"
      ))
      : Either.right(issuer !== undefined ? { _tag: "External", issuer } : builtin ? { _tag: "Builtin" } : { _tag: "Off" })
)
