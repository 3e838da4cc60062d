import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"

/** Loopback names a local client uses; any port. */
const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"]

/** What a request's Host, Origin and Authorization headers come to, before anything else is done. */
export type Verdict =
  | { readonly _tag: "Allowed" }
  | { readonly _tag: "ForeignHost"; readonly header: "host" | "origin"; readonly value: string }
  | { readonly _tag: "NoToken" }
  | { readonly _tag: "WrongToken"; readonly token: Redacted.Redacted<string> }

/** `name[:port]`: a host name or IPv4 address, or an IPv6 address in brackets. Nothing is normalised. */
const AUTHORITY = "(\\[[0-9a-f:.]+\\]|[a-z0-9.-]+)(?::\\d{1,5})?"
const HOST_HEADER = new RegExp(`^${AUTHORITY}$`, "i")
const ORIGIN_HEADER = new RegExp(`^https?://${AUTHORITY}$`, "i")

/** The host name in a Host or Origin header, lower case; undefined when the header is not of that form ("null"…). */
const hostIn = (pattern: RegExp, value: string) => pattern.exec(value)?.[1]!.toLowerCase()

const digest = (token: string) => createHash("sha256").update(token).digest()

/**
 * Whether a presented token is one of `tokens`: its SHA-256 compared with every configured token's in constant
 * time (equal-length digests, `timingSafeEqual`, no early exit), so neither timing nor length tells how close a
 * guess was. Also the owner secret of the built-in authorization server's consent page.
 */
export const tokenMatcher = (tokens: ReadonlyArray<Redacted.Redacted<string>>) => {
  const digests = tokens.map((token) => digest(Redacted.value(token)))
  return (token: string) => {
    const presented = digest(token)
    let matches = 0
    for (const expected of digests) matches |= timingSafeEqual(presented, expected) ? 1 : 0
    return matches === 1
  }
}

/** `Authorization: Bearer <token>`, the scheme case-insensitive (RFC 6750 §2.1). */
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i

/**
 * Who may use `/mcp`. DNS-rebinding protection first: a browser tricked into calling this server sends the
 * attacker's name in Host (and Origin), so both must name this server: loopback, WEBHOOK_BASE_URL's host,
 * or one listed in MCP_ALLOWED_HOSTS (an absent Origin is a non-browser client). Then the bearer token, one
 * of MCP_AUTH_TOKEN's (`tokenMatcher`); any other is a WrongToken, which an OAuth access token may still be.
 */
export const makeAccess = (options: {
  readonly tokens: ReadonlyArray<Redacted.Redacted<string>>
  readonly publicBaseUrl: string
  readonly allowedHosts: ReadonlyArray<string>
}) => {
  const hosts = new Set([...LOOPBACK, new URL(options.publicBaseUrl).hostname, ...options.allowedHosts])
  const tokenMatches = tokenMatcher(options.tokens)

  return (headers: Readonly<Record<string, string | undefined>>): Verdict => {
    const host = headers["host"] ?? ""
    if (!hosts.has(hostIn(HOST_HEADER, host) ?? "")) return { _tag: "ForeignHost", header: "host", value: host }
    if (headers["origin"] !== undefined && !hosts.has(hostIn(ORIGIN_HEADER, headers["origin"]) ?? "")) {
      return { _tag: "ForeignHost", header: "origin", value: headers["origin"] }
    }
    const bearer = BEARER.exec(headers["authorization"] ?? "")
    if (bearer === null) return { _tag: "NoToken" }
    return tokenMatches(bearer[1]!) ? { _tag: "Allowed" } : { _tag: "WrongToken", token: Redacted.make(bearer[1]!) }
  }
}
