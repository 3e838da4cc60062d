import { describe, expect, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { makeAccess } from "../../src/http/McpAccess.js"

const TOKEN = "a".repeat(20) + "0123456789abcdef"
const OTHER = "Zz9-._~+/".repeat(4) + "=="

const check = makeAccess({
  tokens: [Redacted.make(TOKEN), Redacted.make(OTHER)],
  publicBaseUrl: "https://Hooks.Example.test:8443",
  allowedHosts: ["mcp.example.test", "10.0.0.5"]
})

const bearer = `Bearer ${TOKEN}`
const verdict = (headers: Record<string, string | undefined>) => check({ host: "127.0.0.1:3000", authorization: bearer, ...headers })._tag

describe("Host and Origin (DNS-rebinding protection)", () => {
  it.each([
    "localhost",
    "LOCALHOST:3000",
    "127.0.0.1",
    "127.0.0.1:80",
    "[::1]:3000",
    "[::1]",
    "hooks.example.test",
    "hooks.example.test:443",
    "mcp.example.test:3000",
    "10.0.0.5:3000"
  ])("Host %s is allowed", (host) => {
    expect(verdict({ host })).toBe("Allowed")
  })

  it.each([
    "evil.example.com",
    "evil.example.com:3000",
    "127.0.0.1.evil.example.com",
    "localhost.evil.example.com",
    "example.test",
    "localhost.",
    "0x7f.0.0.1",
    "2130706433",
    "127.0.0.2",
    "10.0.0.6",
    "user@localhost",
    "localhost/mcp",
    "localhost:3000:3000",
    "[::2]",
    "",
    undefined
  ])("Host %j is refused", (host) => {
    expect(check({ host, authorization: bearer })).toEqual({ _tag: "ForeignHost", header: "host", value: host ?? "" })
  })

  it.each([
    "http://localhost:3000",
    "https://hooks.example.test",
    "http://127.0.0.1",
    "http://[::1]:6274",
    "https://MCP.example.test"
  ])("Origin %s is allowed", (origin) => {
    expect(verdict({ origin })).toBe("Allowed")
  })

  it.each([
    "http://evil.example.com",
    "https://localhost.evil.example.com",
    "null",
    "file://",
    "ws://localhost:3000",
    "http://localhost:3000/",
    "http://localhost/mcp",
    "localhost"
  ])("Origin %s is refused, even with a loopback Host and the right token", (origin) => {
    expect(check({ host: "localhost:3000", origin, authorization: bearer })).toEqual({ _tag: "ForeignHost", header: "origin", value: origin })
  })

  it("no Origin (a client outside a browser) is allowed", () => {
    expect(verdict({ origin: undefined })).toBe("Allowed")
  })

  it("Host is checked before the token: a foreign Host without a token is a ForeignHost, not a NoToken", () => {
    expect(verdict({ host: "evil.example.com", authorization: undefined })).toBe("ForeignHost")
  })
})

describe("bearer token", () => {
  it.each([
    ["the first token", `Bearer ${TOKEN}`],
    ["the second token", `Bearer ${OTHER}`],
    ["the scheme in lower case", `bearer ${TOKEN}`],
    ["the scheme in upper case, two spaces", `BEARER  ${TOKEN}`]
  ])("%s is accepted", (_, authorization) => {
    expect(verdict({ authorization })).toBe("Allowed")
  })

  it.each([
    ["a token one character short", `Bearer ${TOKEN.slice(0, -1)}`],
    ["a token one character long", `Bearer ${TOKEN}x`],
    ["a token that differs in its last character", `Bearer ${TOKEN.slice(0, -1)}0`],
    ["the two tokens joined", `Bearer ${TOKEN}${OTHER}`],
    ["the token in upper case", `Bearer ${TOKEN.toUpperCase()}`]
  ])("%s is a WrongToken", (_, authorization) => {
    expect(verdict({ authorization })).toBe("WrongToken")
  })

  it.each([
    ["no Authorization header", undefined],
    ["an empty header", ""],
    ["the token without a scheme", TOKEN],
    ["the token in the Basic scheme", `Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}`],
    ["the token in another scheme", `Token ${TOKEN}`],
    ["Bearer without a token", "Bearer "],
    ["two tokens in one header", `Bearer ${TOKEN} ${OTHER}`],
    ["a token with a comma", `Bearer ${TOKEN},${OTHER}`]
  ])("%s is a NoToken", (_, authorization) => {
    expect(verdict({ authorization })).toBe("NoToken")
  })

  it("with no tokens configured nothing is accepted", () => {
    const none = makeAccess({ tokens: [], publicBaseUrl: "http://127.0.0.1:3000", allowedHosts: [] })
    expect(none({ host: "127.0.0.1:3000", authorization: bearer })._tag).toBe("WrongToken")
  })
})
