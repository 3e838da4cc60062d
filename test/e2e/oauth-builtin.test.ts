/**
 * Mode B end to end: the built `http` command with MCP_OAUTH_BUILTIN=true against the Twilio emulator, and the
 * MCP SDK's OAuth client running the flow a claude.ai or ChatGPT connector runs: 401 → Protected Resource
 * Metadata → authorization server metadata → dynamic registration → authorize with PKCE (the test answers the
 * consent page) → token → tools → refresh. Then each refusal the authorization server owes.
 */
import { auth, exchangeAuthorization, refreshAuthorization, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { AuthorizationServerMetadata } from "@modelcontextprotocol/sdk/shared/auth.js"
import { decodeJwt } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MCP_TOKEN } from "../support/McpProcess.js"
import { Browser, TestOAuthClient } from "../support/OAuthClient.js"
import { exitWithin, type ServerProcess, spawnServer } from "../support/ServerProcess.js"
import { type Stack, startStack } from "../support/Stack.js"

let stack: Stack
let server: ServerProcess
let base: string
let mcpUrl: URL
/** The connector's callback: another origin, never fetched (the browser stops at the redirect to it). */
const CALLBACK = "http://127.0.0.1:9/callback"

const start = async () => {
  server = spawnServer({ ...stack.env, MCP_AUTH_TOKEN: MCP_TOKEN, MCP_OAUTH_BUILTIN: "true" }, ["http"], stack.dir)
  await server.stderr.waitForLine(/webhooks listening/)
}

beforeAll(async () => {
  stack = await startStack()
  base = `http://127.0.0.1:${stack.webhookPort}`
  mcpUrl = new URL(`${base}/mcp`)
  await start()
})
afterAll(() => stack?.close())

const newClient = () => new Client({ name: "e2e-oauth", version: "0.0.0" })

/** Connects with the connector's tokens; the SDK refreshes them on a 401 if it can. */
const connect = async (oauth: TestOAuthClient) => {
  const client = newClient()
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: oauth }))
  return client
}

/** The consent page the browser lands on from the authorization URL the SDK made. */
const consentPage = async (oauth: TestOAuthClient) => {
  const browser = new Browser()
  const page = await browser.follow(oauth.authorizationUrl!)
  expect(page.response.status).toBe(200)
  expect(await page.response.text()).toContain("Owner secret")
  return { browser, page: page.url }
}

/** The whole flow up to the code: the SDK discovers, registers and redirects; the owner approves. */
const codeFor = async (oauth: TestOAuthClient) => {
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: oauth })
  await expect(newClient().connect(transport)).rejects.toThrow(UnauthorizedError)
  const { browser, page } = await consentPage(oauth)
  const callback = await browser.approve(page, MCP_TOKEN)
  expect(callback.url.origin + callback.url.pathname).toBe(CALLBACK)
  return { transport, code: callback.url.searchParams.get("code")! }
}

const authorized = async (oauth = new TestOAuthClient(CALLBACK)) => {
  const { code, transport } = await codeFor(oauth)
  await transport.finishAuth(code)
  return oauth
}

/** A raw POST to /mcp with `token`: what a client that ignores the SDK sees. */
const post = (token: string, body: unknown) =>
  fetch(mcpUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify(body)
  })

const metadata = async () => (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as AuthorizationServerMetadata

describe("the connector flow", () => {
  it("401 → metadata → registration → consent → token → tools/list and send_sms on the emulator → refresh", async () => {
    const challenge = await fetch(mcpUrl, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
    expect(challenge.status).toBe(401)
    expect(challenge.headers.get("www-authenticate")).toBe(
      `Bearer realm="twilio-mcp", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", scope="sms:read sms:send"`
    )
    expect(await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()).toEqual({
      resource: mcpUrl.href,
      authorization_servers: [base],
      scopes_supported: ["sms:read", "sms:send"],
      bearer_methods_supported: ["header"],
      resource_name: "twilio-mcp (Twilio SMS)"
    })

    const oauth = await authorized()
    expect(oauth.information?.client_id).toMatch(/.{8,}/)
    const claims = decodeJwt(oauth.saved!.access_token)
    expect(claims).toMatchObject({ iss: base, aud: mcpUrl.href, scope: "sms:read sms:send", client_id: oauth.information!.client_id })
    expect(claims.exp! - claims.iat!).toBe(600)
    expect(oauth.saved!.refresh_token).toBeDefined()

    const client = await connect(oauth)
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("send_sms")
    const sent = await client.callTool({ name: "send_sms", arguments: { to: "+15557100001", message: "sent over OAuth" } })
    expect(sent.isError).toBeFalsy()
    const sid = (sent.structuredContent as { messageSid: string }).messageSid
    expect(await stack.emulator.fetchMessage(sid)).toMatchObject({ body: "sent over OAuth", to: "+15557100001" })
    await client.close()

    // An access token the server no longer takes: the SDK refreshes, and the refresh token is rotated.
    const first = oauth.saved!
    oauth.saved = { ...first, access_token: "no-longer-valid" }
    const again = await connect(oauth)
    expect((await again.listTools()).tools.length).toBeGreaterThan(0)
    await again.close()
    expect(oauth.tokenHistory).toHaveLength(2)
    expect(oauth.saved!.refresh_token).not.toBe(first.refresh_token)
    // The rotated-out refresh token is refused.
    await expect(refreshAuthorization(base, {
      metadata: await metadata(),
      clientInformation: oauth.information!,
      refreshToken: first.refresh_token!,
      resource: mcpUrl
    })).rejects.toThrow(/grant/i)
  })

  it("a restart keeps keys, clients and grants: the same tokens still work", async () => {
    const oauth = await authorized()
    server.child.kill("SIGTERM")
    await exitWithin(server)
    await start()
    expect((await post(oauth.saved!.access_token, { jsonrpc: "2.0", id: 1, method: "tools/list" })).status).toBe(200)
    const refreshed = await refreshAuthorization(base, {
      metadata: await metadata(),
      clientInformation: oauth.information!,
      refreshToken: oauth.saved!.refresh_token!,
      resource: mcpUrl
    })
    expect(refreshed.access_token).toBeDefined()
  })

  it("static bearer tokens keep working beside OAuth", async () => {
    expect((await post(MCP_TOKEN, { jsonrpc: "2.0", id: 1, method: "tools/list" })).status).toBe(200)
  })
})

describe("refusals", () => {
  it("a token with sms:read only: tools/list works, send_sms is 403 insufficient_scope and never runs", async () => {
    const oauth = new TestOAuthClient(CALLBACK)
    expect(await auth(oauth, { serverUrl: mcpUrl, scope: "sms:read" })).toBe("REDIRECT")
    const { browser, page } = await consentPage(oauth)
    const callback = await browser.approve(page, MCP_TOKEN)
    await auth(oauth, { serverUrl: mcpUrl, authorizationCode: callback.url.searchParams.get("code")! })
    expect(decodeJwt(oauth.saved!.access_token).scope).toBe("sms:read")

    const token = oauth.saved!.access_token
    expect((await post(token, { jsonrpc: "2.0", id: 1, method: "tools/list" })).status).toBe(200)
    const refused = await post(token, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "send_sms", arguments: { to: "+15557100002", message: "must not be sent" } }
    })
    expect(refused.status).toBe(403)
    expect(refused.headers.get("www-authenticate")).toBe(
      `Bearer error="insufficient_scope", scope="sms:read sms:send", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`
    )
    // The SDK client is refused too (its step-up refreshes the same grant, still without sms:send), and nothing was sent.
    const client = await connect(oauth)
    await expect(client.callTool({ name: "send_sms", arguments: { to: "+15557100002", message: "must not be sent" } })).rejects.toThrow(/403/)
    const owner = newClient()
    await owner.connect(new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers: { authorization: `Bearer ${MCP_TOKEN}` } } }))
    const found = await owner.callTool({ name: "search_messages", arguments: { query: "must not be sent" } })
    expect((found.structuredContent as { messages: Array<unknown> }).messages).toEqual([])
    await owner.close()
  })

  it("a redirect URI that is neither https nor loopback http is refused at registration", async () => {
    for (const uri of ["http://connector.example.com/callback", "myapp://callback", "https://ok.example.com/cb#fragment"]) {
      const response = await fetch(`${base}/oauth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ redirect_uris: [uri], token_endpoint_auth_method: "none" })
      })
      expect(response.status, uri).toBe(400)
      expect(((await response.json()) as { error: string }).error, uri).toMatch(/invalid_redirect_uri|invalid_client_metadata/)
    }
    const allowed = await fetch(`${base}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: ["https://claude.ai/api/mcp/auth_callback", "http://localhost:8976/cb"], token_endpoint_auth_method: "none" })
    })
    expect(allowed.status).toBe(201)
  })

  it("PKCE plain, or no PKCE at all, is refused before the consent page", async () => {
    const oauth = await authorized()
    const url = new URL(`${base}/oauth/authorize`)
    const params = {
      response_type: "code",
      client_id: oauth.information!.client_id,
      redirect_uri: CALLBACK,
      scope: "sms:read",
      resource: mcpUrl.href,
      state: "s"
    }
    for (const pkce of [{ code_challenge: "a".repeat(43), code_challenge_method: "plain" }, {}]) {
      url.search = new URLSearchParams({ ...params, ...pkce }).toString()
      const landed = await new Browser().follow(url)
      expect(landed.url.origin + landed.url.pathname).toBe(CALLBACK)
      expect(landed.url.searchParams.get("error")).toBe("invalid_request")
      expect(landed.url.searchParams.get("code")).toBeNull()
    }
  })

  it("an authorization code works once: the replay is invalid_grant", async () => {
    const oauth = new TestOAuthClient(CALLBACK)
    const { code, transport } = await codeFor(oauth)
    await transport.finishAuth(code)
    await expect(exchangeAuthorization(base, {
      metadata: await metadata(),
      clientInformation: oauth.information!,
      authorizationCode: code,
      codeVerifier: oauth.verifier,
      redirectUri: CALLBACK,
      resource: mcpUrl
    })).rejects.toThrow(/grant/i)
  })

  it("`twilio-mcp revoke` ends every grant: refresh tokens are refused and clients must be approved again", async () => {
    const oauth = await authorized()
    const revoke = spawnServer(stack.env, ["revoke"], stack.dir)
    expect(await exitWithin(revoke)).toEqual({ code: 0, signal: null })
    expect(revoke.stdout.text()).toMatch(/^revoked [1-9]\d* grants?: every client must be approved again/)
    await expect(refreshAuthorization(base, {
      metadata: await metadata(),
      clientInformation: oauth.information!,
      refreshToken: oauth.saved!.refresh_token!,
      resource: mcpUrl
    })).rejects.toThrow(/grant/i)
  })

  // Last: the owner's address is then held off for the rest of the window.
  it("a wrong owner secret is refused, logged once, and after 5 the right one is not even compared (429)", async () => {
    const oauth = new TestOAuthClient(CALLBACK)
    await expect(newClient().connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: oauth }))).rejects.toThrow(UnauthorizedError)
    const { browser, page } = await consentPage(oauth)
    for (let i = 0; i < 5; i++) {
      const wrong = await browser.approve(page, `not-the-secret-${i}`)
      expect(wrong.response.status).toBe(401)
      expect(await wrong.response.text()).toContain("That is not one of the server&#39;s tokens.")
    }
    const held = await browser.approve(page, MCP_TOKEN)
    expect(held.response.status).toBe(429)
    expect(held.response.headers.get("location")).toBeNull()
    const log = server.stderr.text()
    expect(log.match(/wrong owner secret from/g)).toHaveLength(1)
    expect(log).not.toContain("not-the-secret")
    expect(log).not.toContain(MCP_TOKEN)
    // Logs go to stderr only, the authorization server's notices included.
    expect(server.stdout.text()).toBe("")
  })
})
