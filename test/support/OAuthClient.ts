import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js"
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js"

/**
 * What a connector keeps between steps of the OAuth flow, in memory: the MCP SDK's client auth (`auth()`,
 * StreamableHTTPClientTransport's `authProvider`) calls it as claude.ai's or ChatGPT's would. The browser step
 * is `authorizationUrl`, for `Browser` to follow.
 */
export class TestOAuthClient implements OAuthClientProvider {
  authorizationUrl: URL | undefined
  information: OAuthClientInformationMixed | undefined
  saved: OAuthTokens | undefined
  verifier = ""
  /** Every token response saved, in order: a refresh shows as a second one. */
  readonly tokenHistory: Array<OAuthTokens> = []

  constructor(readonly redirectUrl: string, readonly scope?: string) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "e2e connector",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      ...(this.scope === undefined ? {} : { scope: this.scope })
    }
  }
  clientInformation() {
    return this.information
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.information = information
  }
  tokens() {
    return this.saved
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens
    this.tokenHistory.push(tokens)
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier
  }
  codeVerifier() {
    return this.verifier
  }
}

/** A browser's part of the flow: redirects followed by hand, cookies kept (paths ignored: one site). */
export class Browser {
  private readonly cookies = new Map<string, string>()

  private keep(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";")
      const at = pair!.indexOf("=")
      this.cookies.set(pair!.slice(0, at).trim(), pair!.slice(at + 1))
    }
  }

  async request(url: string | URL, init: RequestInit = {}) {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
    const response = await fetch(url, { ...init, redirect: "manual", headers: { ...(init.headers as Record<string, string>), cookie } })
    this.keep(response)
    return response
  }

  /** GETs `url` and follows redirects on the same origin; stops at a page, or at a redirect elsewhere (the client's callback). */
  async follow(url: string | URL): Promise<{ readonly url: URL; readonly response: Response }> {
    let at = new URL(url)
    for (let hops = 0; hops < 10; hops++) {
      const response = await this.request(at)
      const location = response.headers.get("location")
      if (location === null || response.status < 300 || response.status >= 400) return { url: at, response }
      const next = new URL(location, at)
      if (next.origin !== at.origin) return { url: next, response }
      at = next
    }
    throw new Error("too many redirects")
  }

  /** Posts the consent page's form at `page` with `secret`, then follows on: the final URL (the callback) or the page shown. */
  async approve(page: URL, secret: string) {
    const response = await this.request(page, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ secret }).toString()
    })
    const location = response.headers.get("location")
    return location === null ? { url: page, response } : this.follow(new URL(location, page))
  }
}
