/** `check`'s webhook port line: a command that works from where the server runs, and the sandbox (issue 12, item 15). */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as path from "node:path"
import { projectRoot } from "../../src/config/Install.js"
import { SetupCheck } from "../../src/messaging/SetupCheck.js"
import { freePort } from "../support/ports.js"
import { TestLayer } from "../support/TestLayer.js"
import { callOk } from "./support.js"

const portCheck = Effect.map(Effect.flatMap(SetupCheck, (s) => s.run), (report) => report.checks.find((c) => c.name === "webhook port"))

describe("check: nothing listens on the webhook port", () => {
  it.live("fails with a command that starts the webhook server from this checkout (twilio-mcp is not on its PATH)", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const check = yield* portCheck.pipe(Effect.provide(TestLayer({ webhookPort: port })))
      const bundle = path.join(projectRoot, "dist", "index.js")
      expect(check).toMatchObject({ ok: false, detail: expect.stringContaining(`\`node ${bundle} webhooks\``) })
      expect(check?.detail).not.toMatch(/`twilio-mcp webhooks`/)
      expect(fs.existsSync(bundle)).toBe(true)
    }))

  it.live("is not a failure in the sandbox", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const check = yield* portCheck.pipe(Effect.provide(TestLayer({ webhookPort: port, sandbox: true })))
      expect(check).toMatchObject({ ok: true, detail: expect.stringContaining(`nothing listens on 127.0.0.1:${port}`) })
    }))
})

describe("check_setup with a WEBHOOK_BASE_URL that carries user:password@", () => {
  it.effect("matches the number's webhook (which Twilio holds with the credentials) and never shows them", () =>
    Effect.gen(function*() {
      const report = yield* callOk("check_setup", {})
      const inbound = report.checks.find((c: { name: string }) => c.name === "inbound webhook URL")
      expect(inbound).toMatchObject({ ok: true, detail: "+15005550006 sends inbound SMS to https://twilio-mcp.example.test/webhooks/twilio/sms" })
      expect(JSON.stringify(report)).not.toMatch(/hook-secret/)
    }).pipe(Effect.provide(TestLayer({ webhookSigningBaseUrl: Redacted.make("https://hook:hook-secret@twilio-mcp.example.test") }))))
})
