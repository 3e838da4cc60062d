import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { errors, jwtVerify, type JWTVerifyGetKey } from "jose"
import { SCOPES } from "../../mcp/Tool.js"

/**
 * Asymmetric signatures only: never `none`, never an HS* MAC (which a verifier handed a public key as the
 * secret would accept from anyone who read the JWKS).
 */
export const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]

/** Clock skew allowed on `exp` and `nbf`, in seconds. */
export const CLOCK_TOLERANCE = 30

/** What a valid access token grants: this server's scopes among the token's, and who it was issued to. */
export interface Grant {
  readonly scopes: ReadonlySet<string>
  readonly clientId: string | undefined
}

/** An access token refused: `reason` says why in a few words, for the log (never the token itself). */
export class TokenRefused extends Schema.TaggedError<TokenRefused>()("TokenRefused", { reason: Schema.String }) {}

/**
 * The OAuth side of `/mcp`: how its access tokens are checked, and where a client learns how to get one
 * (the Protected Resource Metadata URL, for the 401's challenge). Present only when OAuth is on.
 */
export class OAuthGate extends Context.Tag("twilio-mcp/OAuthGate")<OAuthGate, {
  readonly verify: (token: string) => Effect.Effect<Grant, TokenRefused>
  readonly resourceMetadataUrl: string
}>() {}

/** A jose failure in a few words: which check refused the token. */
const reasonOf = (e: unknown) =>
  e instanceof errors.JWTExpired
    ? "expired"
    : e instanceof errors.JWTClaimValidationFailed
    ? `${e.claim} claim ${e.reason === "check_failed" ? "not valid yet" : e.reason.replace(/_/g, " ")}`
    : e instanceof errors.JOSEAlgNotAllowed
    ? "algorithm not allowed"
    : e instanceof errors.JWKSNoMatchingKey
    ? "signed with a key the issuer does not publish"
    : e instanceof errors.JWSSignatureVerificationFailed
    ? "signature does not match"
    : e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid
    ? "not a well-formed JWT"
    : e instanceof errors.JOSEError
    ? e.code
    : `issuer keys unavailable (${e instanceof Error ? e.message : String(e)})`

/** `scope` (RFC 9068, space-separated) or `scp` (an array, as Entra ID and Okta write it). */
const scopesIn = (payload: Record<string, unknown>) => {
  const claimed = typeof payload["scope"] === "string"
    ? payload["scope"].split(" ")
    : Array.isArray(payload["scp"])
    ? payload["scp"].filter((s): s is string => typeof s === "string")
    : []
  return new Set(claimed.filter((s) => SCOPES.includes(s)))
}

/** How many verified tokens are remembered (a client sends the same one until it expires). */
export const REMEMBERED_TOKENS = 1_000

/**
 * Checks a JWT access token with jose: an allowed asymmetric signature by one of the issuer's keys, `iss`,
 * `aud` = this server's resource URL (RFC 8707: a token minted for another resource is refused), and
 * `exp` (required) and `nbf` within CLOCK_TOLERANCE. A token that passed is remembered, by its exact text,
 * until its `exp` (no skew): a client's next requests with it skip the signature check; any other text,
 * a tampered one included, is checked in full.
 */
export const jwtVerifier = (options: { readonly issuer: string; readonly audience: string; readonly keys: JWTVerifyGetKey }) => {
  const verified = new Map<string, { readonly grant: Grant; readonly expiresAt: number }>()
  const check = (token: string) =>
    Effect.tryPromise({
      try: () =>
        jwtVerify(token, options.keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE,
          requiredClaims: ["exp"]
        }),
      catch: (e) => new TokenRefused({ reason: reasonOf(e) })
    }).pipe(Effect.map(({ payload }) => {
      const grant: Grant = {
        scopes: scopesIn(payload),
        clientId: typeof payload["client_id"] === "string" ? payload["client_id"] : typeof payload["azp"] === "string" ? payload["azp"] : undefined
      }
      // The oldest goes first (a Map keeps insertion order).
      if (verified.size >= REMEMBERED_TOKENS) verified.delete(verified.keys().next().value!)
      verified.set(token, { grant, expiresAt: payload.exp! * 1000 })
      return grant
    }))
  return (token: string) =>
    Effect.suspend(() => {
      const known = verified.get(token)
      if (known !== undefined && Date.now() < known.expiresAt) return Effect.succeed(known.grant)
      verified.delete(token)
      return check(token)
    })
}
