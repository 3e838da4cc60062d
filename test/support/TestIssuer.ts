import { exportJWK, generateKeyPair, type JWK } from "jose"
import * as http from "node:http"
import Provider from "oidc-provider"
import { freePort } from "./ports.js"

/** A confidential client of the test issuer that mints tokens without a browser (client credentials). */
export const SERVICE_CLIENT = { client_id: "service", client_secret: "service-secret-0123456789abcdef0123456789" }

export interface TestIssuer {
  readonly issuer: string
  /** The issuer's signing key (it publishes the public half as `kid` "k1"). */
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"]
  readonly publicJwk: JWK
  /** How many times its JWKS was fetched. */
  readonly jwksFetches: () => number
  /** An access token for `resource` with `scope`, minted by the issuer itself (client credentials). */
  readonly mint: (resource: string, scope: string) => Promise<string>
  readonly close: () => Promise<void>
}

/**
 * An external authorization server for Mode A tests: oidc-provider on 127.0.0.1, with dynamic registration,
 * PKCE, resource indicators and JWT access tokens for any resource, and an interaction that approves at once
 * (the user signs in as "alice"). It counts its JWKS fetches.
 */
export const startIssuer = async (): Promise<TestIssuer> => {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" }
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: "k1", alg: "ES256", use: "sig" }] },
    clients: [{ ...SERVICE_CLIENT, token_endpoint_auth_method: "client_secret_basic", grant_types: ["client_credentials"], response_types: [], redirect_uris: [] }],
    scopes: ["openid", "offline_access", "sms:read", "sms:send"],
    clientDefaults: { id_token_signed_response_alg: "ES256", token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"] },
    enabledJWA: { idTokenSigningAlgValues: ["ES256"] },
    pkce: { methods: ["S256"], required: () => true },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => ({
          scope: "sms:read sms:send",
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "ES256" } }
        })
      }
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    expiresWithSession: () => false,
    // Set, so that it does not note on stdout that the defaults should be changed.
    ttl: { AccessToken: 600, AuthorizationCode: 60, ClientCredentials: 600, Grant: 3600, IdToken: 600, Interaction: 600, RefreshToken: 3600, Session: 3600 }
  })
  let fetches = 0
  const handle = provider.callback()
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith("/jwks")) fetches++
    if (!req.url?.startsWith("/interaction/")) return void handle(req, res)
    // The user approves at once: signed in, every scope asked for granted for the resource asked for.
    void (async () => {
      const details = await provider.interactionDetails(req, res)
      const grant = new provider.Grant({ accountId: "alice", clientId: String(details.params["client_id"]) })
      const scope = String(details.params["scope"] ?? "")
      grant.addOIDCScope(scope)
      grant.addResourceScope(String(details.params["resource"]), scope)
      await provider.interactionFinished(req, res, { login: { accountId: "alice" }, consent: { grantId: await grant.save() } })
    })()
  })
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))

  const mint = async (resource: string, scope: string) => {
    const response = await fetch(`${issuer}/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${SERVICE_CLIENT.client_id}:${SERVICE_CLIENT.client_secret}`).toString("base64")}`
      },
      body: new URLSearchParams({ grant_type: "client_credentials", resource, scope }).toString()
    })
    const body = (await response.json()) as { access_token?: string; error_description?: string }
    if (body.access_token === undefined) throw new Error(`the test issuer minted no token: ${body.error_description}`)
    return body.access_token
  }

  return {
    issuer,
    privateKey,
    publicJwk,
    jwksFetches: () => fetches,
    mint,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
