/** check_setup, sync_messages on the in-memory Twilio, and the size of tools/list (issue 4, items 8, 9 and "lean"). */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TwilioApiError } from "../../src/twilio/TwilioErrors.js"
import { listTools } from "../../src/mcp/Bridge.js"
import { sandboxTools, tools } from "../../src/mcp/tools/index.js"
import { TestLayer } from "../support/TestLayer.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { alice, bob, send, storedStatus } from "../unit/support.js"
import { callOk, failNext } from "./support.js"

const checkNamed = (report: { checks: ReadonlyArray<{ name: string }> }, name: string) => report.checks.find((c) => c.name === name)

describe("check_setup", () => {
  it.effect("reports every check without sending anything", () =>
    Effect.gen(function*() {
      const report = yield* callOk("check_setup", {})
      expect(report.checks.map((c: any) => c.name)).toEqual([
        "configuration",
        "WEBHOOK_BASE_URL",
        "twilio credentials",
        "account type",
        "inbound",
        "number capabilities",
        "inbound webhook URL",
        "database",
        "webhook port"
      ])
      expect(checkNamed(report, "inbound webhook URL")).toMatchObject({
        ok: true,
        detail: expect.stringContaining("https://twilio-mcp.example.test/webhooks/twilio/sms")
      })
      expect(checkNamed(report, "twilio credentials")).toMatchObject({ ok: true })
      expect(checkNamed(report, "database")).toMatchObject({ ok: true })
      expect(checkNamed(report, "WEBHOOK_BASE_URL")).toMatchObject({ ok: true })
      // Port 0: nobody serves webhooks, so the setup is not ok.
      expect(checkNamed(report, "webhook port")).toMatchObject({ ok: false, detail: expect.stringContaining("nothing listens") })
      expect(report.ok).toBe(false)
      expect(yield* Effect.flatMap(TwilioMemory, (t) => t.sent)).toEqual([])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a Twilio refusal fails the credential and webhook checks with Twilio's message", () =>
    Effect.gen(function*() {
      const refusal = new TwilioApiError({ operation: "fetch account", httpStatus: 401, code: 20003, detail: "Authenticate" })
      yield* failNext(refusal)
      yield* failNext(refusal)
      const report = yield* callOk("check_setup", {})
      expect(checkNamed(report, "twilio credentials")).toMatchObject({ ok: false, detail: refusal.message })
      expect(checkNamed(report, "inbound webhook URL")).toMatchObject({ ok: false, detail: refusal.message })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an http WEBHOOK_BASE_URL is reported: Twilio needs https", () =>
    Effect.gen(function*() {
      const report = yield* callOk("check_setup", {})
      expect(checkNamed(report, "WEBHOOK_BASE_URL")).toMatchObject({ ok: false, detail: expect.stringContaining("https") })
    }).pipe(Effect.provide(TestLayer({ webhookBaseUrl: "http://127.0.0.1:3000" }))))
})

describe("sync_messages on the in-memory Twilio", () => {
  it.effect("advances the status of a sent message whose callback was missed, once", () =>
    Effect.gen(function*() {
      const delivered = yield* send(alice)
      const pending = yield* send(bob)
      yield* Effect.flatMap(TwilioMemory, (t) => t.setStatus(delivered.messageSid, "delivered"))

      expect(yield* callOk("sync_messages", {})).toMatchObject({ inboundStored: 0, statusesChecked: 2, statusesAdvanced: 1 })
      expect(yield* storedStatus(delivered.messageSid)).toBe("delivered")
      expect(yield* storedStatus(pending.messageSid)).toBe("queued")
      // Final statuses are not asked again; the pending one is, and has not moved.
      expect(yield* callOk("sync_messages", {})).toMatchObject({ statusesChecked: 1, statusesAdvanced: 0 })
    }).pipe(Effect.provide(TestLayer())))
})

describe("tools/list", () => {
  const size = (list: typeof tools) => Buffer.byteLength(JSON.stringify({ tools: listTools(list) }))

  it("the default tool list is under 8 KB of JSON", () => {
    expect(size(tools)).toBeLessThan(8192)
  })

  // The sandbox is what newcomers wire in first: its list, with simulate_inbound, is held to the same 8 KB.
  it("the sandbox tool list is under 8 KB of JSON", () => {
    expect(size(sandboxTools)).toBeLessThan(8192)
  })

  it("simulate_inbound is listed in sandbox mode only", () => {
    expect(tools.map((t) => t.name)).not.toContain("simulate_inbound")
    expect(sandboxTools.map((t) => t.name)).toContain("simulate_inbound")
  })
})
