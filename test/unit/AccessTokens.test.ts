import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { base64url, createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose"
import { CLOCK_TOLERANCE, jwtVerifier } from "../../src/http/oauth/AccessTokens.js"

const ISSUER = "https://auth.example.test"
const AUDIENCE = "https://sms.example.test/mcp"

const setup = async () => {
  const { privateKey, publicKey } = await generateKeyPair("ES256")
  const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] })
  const sign = (claims: Record<string, unknown>, expiresIn = 60) =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn).sign(privateKey)
  const verify = jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, keys })
  return { sign, check: (token: string) => Effect.runPromise(Effect.either(verify(token))) }
}

afterEach(() => {
  vi.useRealTimers()
})

describe("jwtVerifier", () => {
  it("takes this server's scopes from `scope` or `scp`, and the client from client_id or azp", async () => {
    const { check, sign } = await setup()
    const fromScope = await check(await sign({ scope: "sms:read openid other", client_id: "c1" }))
    expect(Either.getOrThrow(fromScope)).toEqual({ scopes: new Set(["sms:read"]), clientId: "c1" })
    const fromScp = await check(await sign({ scp: ["sms:send", "sms:read"], azp: "c2" }))
    expect(Either.getOrThrow(fromScp)).toEqual({ scopes: new Set(["sms:send", "sms:read"]), clientId: "c2" })
  })

  it("remembers a token it accepted only until its exp: then jose checks it again and refuses it", async () => {
    const { check, sign } = await setup()
    const token = await sign({ scope: "sms:read" }, 60)
    expect(Either.isRight(await check(token))).toBe(true)
    vi.useFakeTimers({ toFake: ["Date"] })
    vi.setSystemTime(Date.now() + (60 + CLOCK_TOLERANCE + 5) * 1000)
    const refused = await check(token)
    expect(Either.isLeft(refused) && refused.left.reason).toBe("expired")
  })

  it("a remembered token's tampered twin is checked in full and refused", async () => {
    const { check, sign } = await setup()
    const token = await sign({ scope: "sms:read" })
    expect(Either.isRight(await check(token))).toBe(true)
    const [header, , signature] = token.split(".")
    const payload = base64url.encode(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60, scope: "sms:read sms:send" }))
    const tampered = await check(`${header}.${payload}.${signature}`)
    expect(Either.isLeft(tampered) && tampered.left.reason).toBe("signature does not match")
  })
})
