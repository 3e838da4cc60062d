/**
 * Issue 4's agent features end to end: the built server against the Twilio emulator (wait_for_reply with
 * progress, opt-out, check_setup and `check`, catch-up), and `--sandbox` with no Twilio account at all; over
 * stdio and over Streamable HTTP, with the same assertions. Helper servers that only share the database
 * (catch-up) stay on stdio: they share the webhook port too.
 */
import type { Progress } from "@modelcontextprotocol/sdk/types.js"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type McpProcess, startMcp, TRANSPORTS } from "../support/McpProcess.js"
import { freePort } from "../support/ports.js"
import { exitWithin, spawnServer, tempDir } from "../support/ServerProcess.js"
import { type Stack, startStackWithServer } from "../support/Stack.js"

const SID = /^SM[0-9a-f]{32}$/
const SMS_PATH = "/webhooks/twilio/sms"

describe.each(TRANSPORTS)("over %s", (transport) => {
  let stack: Stack
  let server: McpProcess

  beforeAll(async () => {
    ;({ stack, server } = await startStackWithServer(transport))
  })
  afterAll(() => stack?.close())

  /** Where the emulator posts inbound texts for the servers of this file. */
  const ourInboundUrl = () => `${stack.env.WEBHOOK_BASE_URL}${SMS_PATH}`

  /** A base URL nothing listens on: webhooks sent there are lost. */
  const closedBaseUrl = async () => `http://127.0.0.1:${await freePort()}`

  /** Runs `f` while OUR_NUMBER's messaging webhook points at `url`, then points it back at this file's servers. */
  const withSmsUrl = async <A>(url: string, f: () => Promise<A>): Promise<A> => {
    await stack.emulator.setSmsUrl(url)
    try {
      return await f()
    } finally {
      await stack.emulator.setSmsUrl(ourInboundUrl())
    }
  }

  /** An inbound text the emulator stores but whose webhook reaches nobody. */
  const missedInbound = async (from: string, body: string) =>
    withSmsUrl(`${await closedBaseUrl()}${SMS_PATH}`, () => stack.emulator.simulateInbound(from, body))

  const inboundFrom = (on: McpProcess, from: string) => on.call("get_inbound_messages", { from })

  const threadOf = (on: McpProcess, conversationId: string) => on.call("get_conversation_thread", { conversationId })

  const checkNamed = (report: any, name: string) => report.checks.find((c: any) => c.name === name)

  describe("wait_for_reply", () => {
    it("returns the text the emulator delivers while the call is pending, after sending progress notifications", async () => {
      const to = "+15558000001"
      const sent = await server.call("send_sms", { to, message: "Can you confirm the booking?" })
      const progress: Array<Progress> = []
      let progressed!: () => void
      const firstProgress = new Promise<void>((resolve) => {
        progressed = resolve
      })
      const started = Date.now()
      const pending = server.client.callTool(
        { name: "wait_for_reply", arguments: { conversationId: sent.conversationId, timeoutSeconds: 30 } },
        undefined,
        {
          timeout: 45_000,
          onprogress: (p) => {
            progress.push(p)
            progressed()
          }
        }
      )

      // The first notification comes after 5 s of waiting: the reply then arrives while the call is pending.
      await firstProgress
      const reply = await stack.emulator.simulateInbound(to, "Confirmed, thanks")
      const result = await pending

      expect(result.isError).toBeFalsy()
      expect(result.structuredContent).toMatchObject({
        status: "reply",
        conversationId: sent.conversationId,
        messages: [{ messageSid: reply.sid, direction: "inbound", from: to, body: "Confirmed, thanks", untrusted: true }]
      })
      expect(progress[0]).toMatchObject({ progress: 5, total: 30 })
      // Answered on arrival, far from the 30 s timeout.
      expect(Date.now() - started).toBeLessThan(15_000)
    }, 45_000)

    it("answers {status: \"timeout\"} when nothing arrives", async () => {
      expect(await server.call("wait_for_reply", { from: "+15558000002", timeoutSeconds: 1 })).toMatchObject({
        status: "timeout",
        messages: []
      })
    })
  })

  describe("opt-out", () => {
    it("after the emulator delivers STOP, send_sms to that number is an isError that says START, and the thread shows it", async () => {
      const who = "+15558000003"
      await stack.emulator.simulateInbound(who, "STOP")

      const error = await server.callError("send_sms", { to: who, message: "Are you still there?" })
      expect(error).toContain("opted out")
      expect(error).toContain("START")

      const { messages } = await inboundFrom(server, who)
      expect(await threadOf(server, messages[0].conversationId)).toMatchObject({ optedOut: [who] })
      // Only the STOP is in the thread: the refused text was neither sent nor stored.
      expect((await threadOf(server, messages[0].conversationId)).messages).toHaveLength(1)
    })
  })

  describe("check_setup against the emulator", () => {
    it("credentials ok and the number's webhook matches WEBHOOK_BASE_URL + /webhooks/twilio/sms", async () => {
      const report = await server.call("check_setup", {})
      expect(checkNamed(report, "twilio credentials")).toMatchObject({ ok: true, detail: expect.stringContaining(stack.env.TWILIO_ACCOUNT_SID!) })
      expect(checkNamed(report, "inbound webhook URL")).toMatchObject({ ok: true, detail: expect.stringContaining(ourInboundUrl()) })
      expect(checkNamed(report, "database")).toMatchObject({ ok: true })
      expect(checkNamed(report, "webhook port")).toMatchObject({ ok: true })
    })

    it("a number whose webhook points elsewhere is not ok, and the detail gives the URL to set", async () => {
      const report = await withSmsUrl("https://elsewhere.example.test/sms", () => server.call("check_setup", {}))
      expect(checkNamed(report, "inbound webhook URL")).toMatchObject({ ok: false })
      expect(checkNamed(report, "inbound webhook URL").detail).toContain("https://elsewhere.example.test/sms")
      expect(checkNamed(report, "inbound webhook URL").detail).toContain(ourInboundUrl())
      expect(report.ok).toBe(false)
    })

    /** `twilio-mcp check` with a public https URL, this stack's server answering on the webhook port. */
    const runCheck = async (smsUrl: string) => {
      const base = "https://hooks.example.test"
      return withSmsUrl(smsUrl, async () => {
        const check = spawnServer({ ...stack.env, WEBHOOK_BASE_URL: base }, ["check"], stack.dir)
        return { exit: await exitWithin(check), stdout: check.stdout.text() }
      })
    }

    it("`check` exits 0 when every check passes", async () => {
      const { exit, stdout } = await runCheck(`https://hooks.example.test${SMS_PATH}`)
      expect(stdout).not.toContain("FAIL")
      expect(stdout).toMatch(/^ok +inbound webhook URL: .*https:\/\/hooks\.example\.test\/webhooks\/twilio\/sms/m)
      expect(exit).toEqual({ code: 0, signal: null })
    })

    it("`check` exits 1 when the number's webhook points elsewhere, naming the URL to set", async () => {
      const { exit, stdout } = await runCheck("https://elsewhere.example.test/sms")
      expect(stdout).toMatch(/^FAIL inbound webhook URL: .*not to this server: run configure-webhooks \(or set https:\/\/hooks\.example\.test\/webhooks\/twilio\/sms/m)
      expect(stdout).toMatch(/^ok +twilio credentials/m)
      expect(exit).toEqual({ code: 1, signal: null })
    })
  })

  describe("catch-up", () => {
    it("sync_messages stores a text whose webhook was lost and advances a status whose callback was lost; a second sync adds nothing", async () => {
      // A server on the same database whose status callbacks go nowhere.
      const deaf = await startMcp({ ...stack.env, WEBHOOK_BASE_URL: await closedBaseUrl() }, stack.dir)
      const sent = await deaf.call("send_sms", { to: "+15558000004", message: "its delivered callback is lost" })
      await deaf.stop()
      await stack.emulator.simulateStatus(sent.messageSid, "delivered")
      const missed = await missedInbound("+15558000005", "texted while the webhook was down")
      expect(await inboundFrom(server, "+15558000005")).toMatchObject({ totalCount: 0 })
      expect((await threadOf(server, sent.conversationId)).messages[0].status).toBe("queued")

      expect(await server.call("sync_messages", {})).toMatchObject({ inboundStored: 1, statusesAdvanced: 1 })
      expect(await inboundFrom(server, "+15558000005")).toMatchObject({
        totalCount: 1,
        messages: [{ messageSid: missed.sid, body: "texted while the webhook was down", direction: "inbound", untrusted: true }]
      })
      expect((await threadOf(server, sent.conversationId)).messages[0]).toMatchObject({ messageSid: sent.messageSid, status: "delivered" })

      expect(await server.call("sync_messages", {})).toMatchObject({ inboundStored: 0, statusesAdvanced: 0 })
      expect(await inboundFrom(server, "+15558000005")).toMatchObject({ totalCount: 1 })
    })

    // Twilio lists newest first: caught-up texts are stored oldest first, at Twilio's time.
    it("texts caught up by sync_messages keep the order they were sent in", async () => {
      const who = "+15558000009"
      await missedInbound(who, "first")
      await missedInbound(who, "second")
      expect(await server.call("sync_messages", {})).toMatchObject({ inboundStored: 2 })
      const { messages } = await inboundFrom(server, who)
      const thread = await threadOf(server, messages[0].conversationId)
      expect(thread.messages.map((m: any) => m.body)).toEqual(["first", "second"])
    })

    it("a server starting up stores what arrived while no server received webhooks", async () => {
      const missed = await missedInbound("+15558000006", "anyone there?")
      const late = await startMcp(stack.env, stack.dir)
      await late.stderr.waitForLine(/catch-up: 1 missed inbound stored/)
      const found = await inboundFrom(server, "+15558000006")
      expect(found.messages).toMatchObject([{ messageSid: missed.sid, body: "anyone there?" }])
      await late.stop()
    })
  })

  describe("tools/list", () => {
    it("is under 8 KB of JSON and has no simulate_inbound outside the sandbox", async () => {
      const listed = await server.client.listTools()
      expect(Buffer.byteLength(JSON.stringify(listed))).toBeLessThan(8192)
      expect(listed.tools.map((t) => t.name)).toContain("wait_for_reply")
      expect(listed.tools.map((t) => t.name)).not.toContain("simulate_inbound")
    })
  })

  describe("--sandbox", () => {
    /** The sandbox's own number (no TWILIO_PHONE_NUMBER is set). */
    const OUR_SANDBOX_NUMBER = "+15005550006"
    let sandbox: McpProcess
    let dir: string

    beforeAll(async () => {
      // No Twilio variable at all: only where to keep the database and which port to serve.
      dir = tempDir()
      sandbox = await startMcp(
        { DATABASE_PATH: path.join(dir, "sandbox.db"), WEBHOOK_PORT: String(await freePort()), LOG_LEVEL: "debug" },
        dir,
        ["--sandbox"],
        transport
      )
    })
    afterAll(async () => {
      await sandbox?.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    })

    it("lists simulate_inbound", async () => {
      expect((await sandbox.client.listTools()).tools.map((t) => t.name)).toContain("simulate_inbound")
    })

    it("sends with no Twilio account, and the message reaches delivered", async () => {
      const sent = await sandbox.call("send_sms", { to: "+15558000007", message: "Hello from the sandbox" })
      expect(sent).toMatchObject({ status: "queued", to: "+15558000007", segments: 1, encoding: "GSM-7" })
      expect(sent.messageSid).toMatch(SID)

      await sandbox.stderr.waitForLine(new RegExp(`sandbox carrier: ${sent.messageSid} delivered`))
      const thread = await threadOf(sandbox, sent.conversationId)
      expect(thread.messages).toMatchObject([{ messageSid: sent.messageSid, direction: "outbound", status: "delivered" }])
    })

    it("simulate_inbound is returned by a pending wait_for_reply and by get_inbound_messages, in the same thread", async () => {
      const who = "+15558000008"
      const sent = await sandbox.call("send_sms", { to: who, message: "Reply to me" })
      const pending = sandbox.call("wait_for_reply", { conversationId: sent.conversationId, timeoutSeconds: 20 })
      const simulated = await sandbox.call("simulate_inbound", { from: who, body: "Here is my reply" })
      expect(simulated).toMatchObject({ conversationId: sent.conversationId })

      expect(await pending).toMatchObject({
        status: "reply",
        conversationId: sent.conversationId,
        messages: [{ messageSid: simulated.messageSid, body: "Here is my reply", untrusted: true }]
      })
      expect(await inboundFrom(sandbox, who)).toMatchObject({
        totalCount: 1,
        messages: [{ messageSid: simulated.messageSid, conversationId: sent.conversationId, to: OUR_SANDBOX_NUMBER }]
      })
    })
  })
})
