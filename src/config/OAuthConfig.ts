import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/**
 * How `/mcp` accepts OAuth access tokens besides MCP_AUTH_TOKEN's static ones: not at all, from an external
 * authorization server (Mode A: the server only points to it and checks its tokens), or from the built-in one
 * (Mode B), mounted on the same router and port.
 */
export type OAuthMode =
  | { readonly _tag: "Off" }
  | { readonly _tag: "External"; readonly issuer: string }
  | { readonly _tag: "Builtin" }

/** Loopback hosts, where an `http://` issuer is allowed (development and tests): nothing crosses a network. */
export const isLoopback = (hostname: string) => ["localhost", "127.0.0.1", "[::1]"].includes(hostname.toLowerCase())

/** An issuer identifier (RFC 8414 §2): https (http on loopback), no query or fragment; kept as written. */
const issuerUrl = (raw: string): Either.Either<string, string> => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return Either.left("must be the authorization server's issuer URL, e.g. https://auth.example.com/realms/sms")
  }
  if (url.search !== "" || url.hash !== "" || raw.includes("?") || raw.includes("#")) {
    return Either.left("must not have a query or fragment (it is the issuer identifier, as the server's metadata shows it)")
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname))) return Either.right(raw)
  return Either.left("must be an https:// URL (http:// only on localhost, 127.0.0.1 or [::1])")
}

const issuer = Config.option(Config.mapOrFail(Config.string("MCP_OAUTH_ISSUER"), (raw) =>
  Either.mapLeft(issuerUrl(raw.trim()), (message) => ConfigError.InvalidData([], message))))

const builtin = Config.withDefault(Config.boolean("MCP_OAUTH_BUILTIN"), false)

/** MCP_OAUTH_ISSUER (Mode A) or MCP_OAUTH_BUILTIN=true (Mode B); both at once is refused. */
export const oauthConfig: Config.Config<OAuthMode> = Config.mapOrFail(
  Config.all({ issuer, builtin }),
  ({ builtin, issuer }): Either.Either<OAuthMode, ConfigError.ConfigError> =>
    Option.isSome(issuer) && builtin
      ? Either.left(ConfigError.InvalidData(
        ["MCP_OAUTH_ISSUER"],
        "and MCP_OAUTH_BUILTIN=true cannot both be set: use an external authorization server or the built-in one, not both"
      ))
      : Option.isSome(issuer)
      ? Either.right({ _tag: "External", issuer: issuer.value })
      : Either.right(builtin ? { _tag: "Builtin" } : { _tag: "Off" })
)
