/**
 * Mode A end to end: the built `http` command with MCP_OAUTH_ISSUER pointing at an oidc-provider instance this
 * test starts on loopback (test/support/TestIssuer.ts), the MCP SDK's OAuth client running the connector flow
 * against it, and every kind of bad access token refused with 401 before anything runs.
 */
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { base64url, decodeJwt, generateKeyPair, SignJWT, UnsecuredJWT } from "jose"
import { createHmac, createPublicKey, type JsonWebKey } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MCP_TOKEN } from "../support/McpProcess.js"
import { Browser, TestOAuthClient } from "../support/OAuthClient.js"
import { freePort } from "../support/ports.js"
import { exitWithin, type ServerProcess, spawnServer } from "../support/ServerProcess.js"
import { type Stack, startStack } from "../support/Stack.js"
import { startIssuer, type TestIssuer } from "../support/TestIssuer.js"

let stack: Stack
let issuer: TestIssuer
let server: ServerProcess
let mcpUrl: URL
const CALLBACK = "http://127.0.0.1:9/callback"

beforeAll(async () => {
  stack = await startStack()
  issuer = await startIssuer()
  mcpUrl = new URL(`http://127.0.0.1:${stack.webhookPort}/mcp`)
  server = spawnServer({ ...stack.env, MCP_AUTH_TOKEN: MCP_TOKEN, MCP_OAUTH_ISSUER: issuer.issuer }, ["http"], stack.dir)
  await server.stderr.waitForLine(/webhooks listening/)
})
afterAll(async () => {
  await stack?.close()
  await issuer?.close()
})

const post = (token: string, body: unknown = { jsonrpc: "2.0", id: 1, method: "tools/list" }) =>
  fetch(mcpUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify(body)
  })

/** A JWT signed with the issuer's own key, with these claims over a valid set for this server. */
const signed = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ scope: "sms:read sms:send", client_id: "forged", iss: issuer.issuer, aud: mcpUrl.href, iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: "ES256", kid: "k1", typ: "at+jwt", ...header })
    .sign(issuer.privateKey)
}

describe("the connector flow against an external issuer", () => {
  it("401 → metadata naming the issuer → registration there → authorize → token → tools/list and send_sms → refresh", async () => {
    const prm = await (await fetch(`http://127.0.0.1:${stack.webhookPort}/.well-known/oauth-protected-resource/mcp`)).json()
    expect(prm).toMatchObject({ resource: mcpUrl.href, authorization_servers: [issuer.issuer] })

    const oauth = new TestOAuthClient(CALLBACK)
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: oauth })
    await expect(new Client({ name: "e2e", version: "0" }).connect(transport)).rejects.toThrow(UnauthorizedError)
    expect(oauth.authorizationUrl!.origin).toBe(issuer.issuer)
    const callback = await new Browser().follow(oauth.authorizationUrl!)
    expect(callback.url.origin + callback.url.pathname).toBe(CALLBACK)
    await transport.finishAuth(callback.url.searchParams.get("code")!)
    expect(decodeJwt(oauth.saved!.access_token)).toMatchObject({ iss: issuer.issuer, aud: mcpUrl.href, scope: "sms:read sms:send" })

    const client = new Client({ name: "e2e", version: "0" })
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: oauth }))
    const sent = await client.callTool({ name: "send_sms", arguments: { to: "+15557200001", message: "via the external issuer" } })
    expect(await stack.emulator.fetchMessage((sent.structuredContent as { messageSid: string }).messageSid)).toMatchObject({
      body: "via the external issuer"
    })
    await client.close()

    oauth.saved = { ...oauth.saved!, access_token: "no-longer-valid" }
    const again = new Client({ name: "e2e", version: "0" })
    await again.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: oauth }))
    expect((await again.listTools()).tools.length).toBeGreaterThan(0)
    expect(oauth.tokenHistory).toHaveLength(2)
    await again.close()
  })

  it("a token the issuer minted with sms:read only may list but not send: 403 insufficient_scope", async () => {
    const token = await issuer.mint(mcpUrl.href, "sms:read")
    expect((await post(token)).status).toBe(200)
    const refused = await post(token, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "send_sms", arguments: { to: "+15557200002", message: "x" } } })
    expect(refused.status).toBe(403)
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer error="insufficient_scope", scope="sms:read sms:send"/)
  })
})

describe("access tokens refused with 401 invalid_token, the reason logged and never the token", () => {
  const now = () => Math.floor(Date.now() / 1000)
  const cases: ReadonlyArray<readonly [string, () => Promise<string>, RegExp]> = [
    ["no token at all", async () => "", /no bearer token/],
    ["expired", () => signed({ exp: now() - 120 }), /the access token is not valid: expired/],
    ["not yet valid", () => signed({ nbf: now() + 300 }), /nbf claim not valid yet/],
    ["from another issuer", () => signed({ iss: "http://127.0.0.1:1" }), /iss claim/],
    ["for another resource, minted by the same issuer", () => issuer.mint("https://other.example.com/mcp", "sms:read sms:send"), /aud claim/],
    ["alg none", async () => new UnsecuredJWT({ iss: issuer.issuer, aud: mcpUrl.href, exp: now() + 300, scope: "sms:send" }).encode(), /not a well-formed JWT|algorithm/],
    ["HS256 signed with the issuer's public key as the secret", async () => {
      const header = base64url.encode(JSON.stringify({ alg: "HS256", kid: "k1", typ: "JWT" }))
      const payload = base64url.encode(JSON.stringify({ iss: issuer.issuer, aud: mcpUrl.href, exp: now() + 300, scope: "sms:read sms:send" }))
      const secret = createPublicKey({ key: issuer.publicJwk as JsonWebKey, format: "jwk" }).export({ type: "spki", format: "pem" })
      return `${header}.${payload}.${createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url")}`
    }, /algorithm not allowed/],
    ["signed with a key the issuer does not publish", async () => {
      const { privateKey } = await generateKeyPair("ES256")
      return new SignJWT({ iss: issuer.issuer, aud: mcpUrl.href, exp: now() + 300, scope: "sms:send" }).setProtectedHeader({ alg: "ES256", kid: "k-unknown" }).sign(privateKey)
    }, /key the issuer does not publish/],
    ["a valid token with its payload tampered", async () => {
      const [header, , signature] = (await signed({ scope: "sms:read" })).split(".")
      return `${header}.${base64url.encode(JSON.stringify({ iss: issuer.issuer, aud: mcpUrl.href, exp: now() + 300, scope: "sms:read sms:send" }))}.${signature}`
    }, /signature does not match/]
  ]

  it.each(cases)("%s", async (_, token, logged) => {
    const value = await token()
    const response = value === "" ? await fetch(mcpUrl, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }) : await post(value)
    expect(response.status).toBe(401)
    expect(response.headers.get("www-authenticate")).toContain(`resource_metadata="http://127.0.0.1:${stack.webhookPort}/.well-known/oauth-protected-resource/mcp"`)
    if (value !== "") expect(response.headers.get("www-authenticate")).toContain("error=\"invalid_token\"")
    await server.stderr.waitForLine(logged)
    if (value !== "") expect(server.stderr.text()).not.toContain(value)
  })
})

describe("the issuer's keys", () => {
  it("are fetched once for many requests, and an unknown kid does not fetch them again within the cooldown", async () => {
    const fresh = spawnServer({ ...stack.env, MCP_AUTH_TOKEN: MCP_TOKEN, MCP_OAUTH_ISSUER: issuer.issuer, WEBHOOK_PORT: String(await freePort()) }, ["http"], stack.dir)
    const listening = await fresh.stderr.waitForLine(/webhooks listening on/)
    const url = new URL("/mcp", /listening on (http:\/\/[^\s"]+)/.exec(listening)![1])
    const before = issuer.jwksFetches()
    const token = await issuer.mint(mcpUrl.href, "sms:read sms:send")
    const postTo = (t: string) =>
      fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${t}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" })
      })
    // The audience is the stack's URL: this server (another port, same WEBHOOK_BASE_URL) takes the same tokens.
    for (let i = 0; i < 50; i++) expect((await postTo(token)).status).toBe(200)
    expect(issuer.jwksFetches() - before).toBe(1)
    const { privateKey } = await generateKeyPair("ES256")
    for (let i = 0; i < 5; i++) {
      const unknown = await new SignJWT({ iss: issuer.issuer, aud: mcpUrl.href, exp: Math.floor(Date.now() / 1000) + 300 })
        .setProtectedHeader({ alg: "ES256", kid: `rotated-${i}` }).sign(privateKey)
      expect((await postTo(unknown)).status).toBe(401)
    }
    expect(issuer.jwksFetches() - before).toBe(1)
    fresh.child.kill("SIGTERM")
    await exitWithin(fresh)
  })

  it("an issuer whose metadata cannot be read stops the start with a clear message", async () => {
    const refused = spawnServer({ ...stack.env, MCP_AUTH_TOKEN: MCP_TOKEN, MCP_OAUTH_ISSUER: "http://127.0.0.1:9/realm", WEBHOOK_PORT: String(await freePort()) }, ["http"], stack.dir)
    expect(await exitWithin(refused)).toEqual({ code: 1, signal: null })
    expect(refused.stderr.text()).toMatch(/MCP_OAUTH_ISSUER http:\/\/127\.0\.0\.1:9\/realm: /)
  })
})
