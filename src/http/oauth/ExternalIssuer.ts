import { discoverAuthorizationServerMetadata } from "@modelcontextprotocol/sdk/client/auth.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { createRemoteJWKSet } from "jose"
import { AppConfig } from "../../config/AppConfig.js"
import { isLoopback } from "../../config/OAuthMode.js"
import { jwtVerifier, OAuthGate } from "./AccessTokens.js"
import { ResourceMetadataRoutes, resourceMetadataUrl, resourceUrl } from "./ResourceMetadata.js"

/** MCP_OAUTH_ISSUER's metadata could not be read or does not describe that issuer: the server does not start. */
export class IssuerUnusable extends Schema.TaggedError<IssuerUnusable>()("IssuerUnusable", { issuer: Schema.String, reason: Schema.String }) {
  override get message() {
    return `MCP_OAUTH_ISSUER ${this.issuer}: ${this.reason}`
  }
}

/** How long fetched keys are used before they are fetched again. */
const KEYS_MAX_AGE_MS = 10 * 60_000
/** A token signed with a key not in the set fetches the set again, at most this often. */
const KEYS_COOLDOWN_MS = 30_000

/** The issuer's keys come over TLS, or from loopback (development and tests). */
const allowedKeysUrl = (uri: string) => {
  const url = URL.canParse(uri) ? new URL(uri) : undefined
  return url !== undefined && (url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname)))
}

/**
 * Mode A: tokens from an external authorization server (Keycloak, Auth0, Entra ID…). Its RFC 8414 / OpenID
 * metadata is read at start-up (the MCP SDK's discovery); its JWKS is fetched by jose when first needed,
 * cached, and fetched again on an unknown `kid` at most every KEYS_COOLDOWN_MS.
 */
export const ExternalIssuer = (issuer: string) =>
  Layer.effect(
    OAuthGate,
    Effect.gen(function*() {
      const config = yield* AppConfig
      const unusable = (reason: string) => new IssuerUnusable({ issuer, reason })
      const metadata = yield* Effect.tryPromise({
        try: () => discoverAuthorizationServerMetadata(issuer),
        catch: (e) => unusable(`its metadata cannot be read (${e instanceof Error ? e.message : String(e)})`)
      })
      if (metadata === undefined) return yield* unusable("no RFC 8414 or OpenID metadata found under it")
      // RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
      if (metadata.issuer !== issuer) return yield* unusable(`its metadata names another issuer, ${metadata.issuer}`)
      const jwksUri = (metadata as { jwks_uri?: string }).jwks_uri
      if (jwksUri === undefined) return yield* unusable("its metadata has no jwks_uri: its access tokens cannot be checked")
      if (!allowedKeysUrl(jwksUri)) return yield* unusable(`its jwks_uri ${jwksUri} is not https (http only on loopback)`)
      const keys = createRemoteJWKSet(new URL(jwksUri), { cacheMaxAge: KEYS_MAX_AGE_MS, cooldownDuration: KEYS_COOLDOWN_MS })
      yield* Effect.logInfo(`OAuth: access tokens from ${issuer} accepted for ${resourceUrl(config.webhookBaseUrl)}`)
      return OAuthGate.of({
        verify: jwtVerifier({ issuer, audience: resourceUrl(config.webhookBaseUrl), keys }),
        resourceMetadataUrl: resourceMetadataUrl(config.webhookBaseUrl)
      })
    })
  ).pipe(Layer.merge(Layer.unwrapEffect(Effect.map(AppConfig, (config) => ResourceMetadataRoutes({ publicBaseUrl: config.webhookBaseUrl, issuer })))))
