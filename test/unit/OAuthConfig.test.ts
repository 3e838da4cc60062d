import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { parseConfig } from "../../src/config/LoadConfig.js"

/** The sandbox needs no Twilio variables: only the OAuth ones are under test. */
const parse = (env: Record<string, string>) => parseConfig(env, { sandbox: true })
const oauthOf = (env: Record<string, string>) => Either.getOrThrowWith(parse(env), (e) => new Error(e.message)).oauth
const problemsOf = (env: Record<string, string>) => Either.match(parse(env), { onLeft: (e) => e.problems, onRight: () => [] })

describe("OAuth configuration", () => {
  it("is off by default", () => {
    expect(oauthOf({})).toEqual({ _tag: "Off" })
  })

  it("MCP_OAUTH_ISSUER is Mode A, kept as written (the issuer identifier compared with the metadata's)", () => {
    expect(oauthOf({ MCP_OAUTH_ISSUER: "https://auth.example.com/realms/sms" })).toEqual({ _tag: "External", issuer: "https://auth.example.com/realms/sms" })
    expect(oauthOf({ MCP_OAUTH_ISSUER: "http://127.0.0.1:8080" })).toEqual({ _tag: "External", issuer: "http://127.0.0.1:8080" })
  })

  it("MCP_OAUTH_BUILTIN=true is Mode B", () => {
    expect(oauthOf({ MCP_OAUTH_BUILTIN: "true" })).toEqual({ _tag: "Builtin" })
    expect(oauthOf({ MCP_OAUTH_BUILTIN: "false" })).toEqual({ _tag: "Off" })
  })

  it("both modes at once are refused at start-up", () => {
    expect(problemsOf({ MCP_OAUTH_ISSUER: "https://auth.example.com", MCP_OAUTH_BUILTIN: "true" })).toEqual([
      "MCP_OAUTH_ISSUER and MCP_OAUTH_BUILTIN=true cannot both be set: use an external authorization server or the built-in one, not both"
    ])
  })

  it.each([
    ["http off loopback", "http://auth.example.com", "must be an https:// URL (http:// only on localhost, 127.0.0.1 or [::1])"],
    ["a query", "https://auth.example.com/?tenant=1", "must not have a query or fragment"],
    ["a fragment", "https://auth.example.com/#x", "must not have a query or fragment"],
    ["not a URL", "auth.example.com", "must be the authorization server's issuer URL"]
  ])("an issuer with %s is refused", (_, issuer, problem) => {
    const problems = problemsOf({ MCP_OAUTH_ISSUER: issuer })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain(`MCP_OAUTH_ISSUER ${problem}`)
  })
})
