import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from "jose"
import { randomBytes } from "node:crypto"
import type * as OidcProvider from "oidc-provider"
import { AppConfig } from "../../config/AppConfig.js"
import { SCOPES } from "../../mcp/Tool.js"
import { isLoopback } from "../../config/OAuthMode.js"
import { OAuthStore } from "../../storage/OAuthStore.js"
import { RejectionLog } from "../RejectionLog.js"
import { jwtVerifier, OAuthGate } from "./AccessTokens.js"
import { CONSENT_PATH, ConsentRoutes, escape, OWNER } from "./ConsentPage.js"
import { providerAdapter } from "./ProviderAdapter.js"
import { ResourceMetadataRoutes, resourceMetadataUrl, resourceUrl } from "./ResourceMetadata.js"
import { allowedRedirectUri } from "./RedirectUris.js"

/** MCP_OAUTH_BUILTIN with a WEBHOOK_BASE_URL that would carry codes and tokens in clear over a network. */
export class BuiltinNeedsHttps extends Schema.TaggedError<BuiltinNeedsHttps>()("BuiltinNeedsHttps", { url: Schema.String }) {
  override get message() {
    return `MCP_OAUTH_BUILTIN=true needs WEBHOOK_BASE_URL to be https:// (it is ${this.url}): the authorization server ` +
      "sends codes and tokens there. Put the server behind TLS (http:// only on localhost, for development)."
  }
}

const SIGNING_ALG = "ES256"
/** Access tokens are short-lived: a revoked grant's last access token stops working within this. */
export const ACCESS_TOKEN_TTL_S = 10 * 60
const REFRESH_TOKEN_TTL_S = 30 * 24 * 3600
const GRANT_TTL_S = 365 * 24 * 3600
/** Expired records are deleted this often (they are never found once expired). */
const SWEEP_EVERY = Duration.hours(1)

/** The provider's routes, all under /oauth; its discovery document stays at the root well-known paths. */
const ROUTES = {
  authorization: "/oauth/authorize",
  token: "/oauth/token",
  registration: "/oauth/register",
  jwks: "/oauth/jwks",
  revocation: "/oauth/revoke",
  userinfo: "/oauth/userinfo",
  end_session: "/oauth/logout",
  introspection: "/oauth/introspect",
  code_verification: "/oauth/device",
  device_authorization: "/oauth/device/auth",
  pushed_authorization_request: "/oauth/par",
  backchannel_authentication: "/oauth/backchannel",
  challenge: "/oauth/challenge"
}

/** An ES256 signing key, made once and kept in the database: tokens stay valid across restarts. */
const newSigningKey = async () => {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true })
  const jwk = await exportJWK(privateKey)
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: SIGNING_ALG, use: "sig" }
}

const newCookieKeys = async () => ({ keys: [randomBytes(32).toString("base64url"), randomBytes(32).toString("base64url")] })

/**
 * Mode B: oidc-provider as the authorization server, mounted on the same router and port. Authorization code
 * with PKCE (S256 only, always), open dynamic client registration (redirect URIs https, or http on loopback),
 * JWT access tokens bound to the `/mcp` resource (RFC 8707) and short-lived, refresh tokens rotated on every
 * use, the owner's consent page. Clients, grants and keys are in the database (OAuthStore).
 */
export const BuiltinIssuer = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* AppConfig
  const publicUrl = new URL(config.webhookBaseUrl)
  if (publicUrl.protocol !== "https:" && !isLoopback(publicUrl.hostname)) return Layer.fail(new BuiltinNeedsHttps({ url: config.webhookBaseUrl }))
  const issuer = config.webhookBaseUrl
  const resource = resourceUrl(config.webhookBaseUrl)
  const store = yield* OAuthStore
  const runtime = yield* Effect.runtime<never>()
  const run = <A, E>(effect: Effect.Effect<A, E>) => Runtime.runPromise(runtime, effect)

  // Loaded only here: an external package (see scripts/build.mjs), needed by Mode B alone.
  const { default: Provider, errors } = yield* Effect.promise((): Promise<typeof OidcProvider> => import("oidc-provider"))
  const signingKey = yield* store.keys("signing", newSigningKey)
  const cookieKeys = yield* store.keys("cookies", newCookieKeys)
  const { d: _private, ...publicKey } = signingKey as JWK

  const provider = new Provider(issuer, {
    adapter: providerAdapter(store, run),
    jwks: { keys: [signingKey as JWK] },
    cookies: { keys: cookieKeys.keys, long: { signed: true }, short: { signed: true } },
    routes: ROUTES,
    // The resource's scopes too: a client registering with them (dynamic registration's `scope`) is checked against these.
    scopes: ["openid", "offline_access", ...SCOPES],
    responseTypes: ["code"],
    pkce: { methods: ["S256"], required: () => true },
    clientDefaults: {
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      id_token_signed_response_alg: SIGNING_ALG
    },
    enabledJWA: { idTokenSigningAlgValues: [SIGNING_ALG] },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget(`this server issues tokens for ${resource} only`)
          return { scope: SCOPES.join(" "), audience: resource, accessTokenTTL: ACCESS_TOKEN_TTL_S, accessTokenFormat: "jwt", jwt: { sign: { alg: SIGNING_ALG } } }
        }
      }
    },
    extraClientMetadata: {
      properties: ["redirect_uris"],
      validator: (_ctx, key, value) => {
        if (key !== "redirect_uris") return
        const refused = (value as ReadonlyArray<string> | undefined ?? []).find((uri) => !allowedRedirectUri(uri))
        if (refused !== undefined) {
          throw new errors.InvalidRedirectUri(`redirect URI ${refused} is not allowed: use https://, or http:// on localhost, 127.0.0.1 or [::1]`)
        }
      }
    },
    interactions: { url: (_ctx, interaction) => `${CONSENT_PATH}/${interaction.uid}` },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    // Its own error page (the default one loads a web font and notes on stdout that it should be replaced).
    renderError: (ctx, out) => {
      ctx.type = "html"
      ctx.body = `<!doctype html><meta charset="utf-8"><title>twilio-mcp: authorization failed</title>` +
        `<h1>Authorization failed</h1><p>${escape(String(out["error_description"] ?? out["error"] ?? "unknown error"))}</p>`
    },
    // Refresh tokens for every client that registered the grant, whatever its scopes; rotated on each use.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    expiresWithSession: () => false,
    // CORS on the token and registration endpoints only for a browser client's own origin.
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false,
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_S,
      AuthorizationCode: 60,
      IdToken: ACCESS_TOKEN_TTL_S,
      RefreshToken: REFRESH_TOKEN_TTL_S,
      Grant: GRANT_TTL_S,
      Session: 24 * 3600,
      Interaction: 10 * 60
    }
  })
  // The URLs it writes (discovery, redirects) are WEBHOOK_BASE_URL's whatever Host the request came with:
  // every request is handed over with forwarding headers set from it, which Koa then trusts.
  provider.proxy = true
  provider.on("server_error", (_ctx, error) => run(Effect.logError(`OAuth: authorization server error: ${error.message}`)))
  const handle = provider.callback()
  const basePath = publicUrl.pathname === "/" ? "" : publicUrl.pathname

  const forward = (path?: string) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const req = NodeHttpServerRequest.toIncomingMessage(request)
      req.headers["x-forwarded-proto"] = publicUrl.protocol.slice(0, -1)
      req.headers["x-forwarded-host"] = publicUrl.host
      if (path !== undefined) req.url = path
      // Express's convention, which oidc-provider reads: the public path prefix the URLs it writes start with.
      Object.assign(req, { originalUrl: `${basePath}${req.url}` })
      yield* Effect.promise(() => handle(req, NodeHttpServerRequest.toServerResponse(request)))
      // Written by the provider: the platform sends nothing more for an ended response.
      return HttpServerResponse.empty()
    })

  const providerRoutes = HttpLayerRouter.use((router) =>
    Effect.all([
      router.add("*", "/oauth/*", forward()),
      router.add("GET", "/.well-known/openid-configuration", forward()),
      // RFC 8414's name for the same document, which MCP clients ask for first.
      router.add("GET", "/.well-known/oauth-authorization-server", forward("/.well-known/openid-configuration"))
    ], { discard: true })
  )

  const gate = Layer.scoped(
    OAuthGate,
    Effect.gen(function*() {
      yield* Effect.forkScoped(Effect.forever(Effect.delay(Effect.ignore(store.sweep), SWEEP_EVERY)))
      yield* Effect.logInfo(`OAuth: built-in authorization server at ${issuer}/oauth for ${resource}; owner: ${OWNER}`)
      return OAuthGate.of({
        verify: jwtVerifier({ issuer, audience: resource, keys: createLocalJWKSet({ keys: [publicKey] }) }),
        resourceMetadataUrl: resourceMetadataUrl(config.webhookBaseUrl)
      })
    })
  )

  return Layer.mergeAll(
    gate,
    providerRoutes,
    ConsentRoutes({ provider, ownerSecrets: config.mcpAuthTokens, resource }),
    ResourceMetadataRoutes({ publicBaseUrl: config.webhookBaseUrl, issuer })
  ).pipe(Layer.provide(RejectionLog.Default))
}))
