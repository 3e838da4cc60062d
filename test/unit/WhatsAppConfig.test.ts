/** TWILIO_WHATSAPP_NUMBER (issue 23): normalised to whatsapp:+E164, refused with what to write, the sandbox's default. */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { parseConfig } from "../../src/config/LoadConfig.js"

const validEnv = {
  TWILIO_ACCOUNT_SID: `AC${"0123456789abcdef".repeat(2)}`,
  TWILIO_AUTH_TOKEN: "s3cr3t-token-0123456789abcdef-xyz",
  TWILIO_PHONE_NUMBER: "+15551234567",
  WEBHOOK_BASE_URL: "https://abc123.ngrok.io"
}
const location = { projectRoot: "/opt/twilio-mcp", cwd: "/", platform: "linux" as const, homeDir: "/home/ada" }
const parse = (env: Record<string, string>, sandbox = false) => parseConfig(env, { sandbox, location })
const whatsappNumberOf = (value: string) => Either.map(parse({ ...validEnv, TWILIO_WHATSAPP_NUMBER: value }), (c) => c.whatsappNumber)

describe("TWILIO_WHATSAPP_NUMBER", () => {
  it("is optional, and absent without it", () => {
    expect(Either.map(parse(validEnv), (c) => c.whatsappNumber)).toEqual(Either.right(undefined))
  })

  it("takes whatsapp:+E164 in any case, or a bare E.164 number, as whatsapp:+E164", () => {
    for (const value of ["whatsapp:+14155238886", "WhatsApp:+14155238886", "+14155238886", " whatsapp:+14155238886 "]) {
      expect(whatsappNumberOf(value)).toEqual(Either.right("whatsapp:+14155238886"))
    }
  })

  it("refuses anything else, saying what to write", () => {
    const parsed = whatsappNumberOf("whatsapp:14155238886")
    expect(Either.isLeft(parsed) && parsed.left.problems).toEqual([
      "TWILIO_WHATSAPP_NUMBER must be a WhatsApp sender: whatsapp: and an E.164 number (e.g. whatsapp:+14155238886)"
    ])
  })

  it("the sandbox plays Twilio's WhatsApp sandbox number unless told otherwise", () => {
    expect(Either.map(parse({}, true), (c) => c.whatsappNumber)).toEqual(Either.right("whatsapp:+14155238886"))
    expect(Either.map(parse({ TWILIO_WHATSAPP_NUMBER: "+15550009999" }, true), (c) => c.whatsappNumber)).toEqual(Either.right("whatsapp:+15550009999"))
  })
})
