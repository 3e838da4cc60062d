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
