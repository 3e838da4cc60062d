/**
 * WhatsApp end to end (issue 23): the built server over stdio and over HTTP, on SQLite or PostgreSQL (the
 * project), against the Twilio emulator with the local route set for what it lacks (Content API, 63016). Inbound
 * messages arrive as signed webhooks; the window is moved by moving the stored message's time back 25 hours.
 */
import type { Progress } from "@modelcontextprotocol/sdk/types.js"
import Database from "better-sqlite3"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { onPostgres } from "../support/Dialect.js"
import { type McpProcess, startMcp, TRANSPORTS } from "../support/McpProcess.js"
import { adminQuery } from "../support/pgAdmin.js"
import { freePort } from "../support/ports.js"
import { tempDir } from "../support/ServerProcess.js"
import { type Stack, startStack } from "../support/Stack.js"
import { startWhatsAppRoutes, TEMPLATES, WHATSAPP_NUMBER, whatsAppInbound, type WhatsAppRoutes } from "../support/WhatsAppRoutes.js"

const [orderUpdate, promo] = TEMPLATES

/** Every stored message from `from` as if it had arrived 25 hours earlier: the person's window has closed. */
const moveBack25Hours = async (stack: Stack, from: string) => {
  if (onPostgres) {
    await adminQuery(
      stack.env.DATABASE_URL!,
      `UPDATE messages SET created_at = to_char((created_at::timestamptz - interval '25 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
       WHERE from_address = '${from}'`
    )
    return
  }
  const db = new Database(stack.databasePath, { timeout: 5000 })
  try {
    db.prepare("UPDATE messages SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '-25 hours') WHERE from_address = ?").run(from)
  } finally {
    db.close()
  }
}

describe.each(TRANSPORTS)("WhatsApp over %s", (transport) => {
  let stack: Stack
  let routes: WhatsAppRoutes
  let server: McpProcess
  const ada = "+15558000001"
  const adaWhatsApp = `whatsapp:${ada}`
  const inbound = (from: string, body: string, name = "Ada L.") =>
    whatsAppInbound({ webhookBaseUrl: stack.env.WEBHOOK_BASE_URL!, routes }, from, body, name)

  beforeAll(async () => {
    stack = await startStack({ moreNumbers: [WHATSAPP_NUMBER] })
    routes = await startWhatsAppRoutes(stack.emulator.url)
    server = await startMcp({ ...stack.env, TWILIO_API_BASE_URL: routes.url, TWILIO_WHATSAPP_NUMBER: WHATSAPP_NUMBER }, stack.dir, [], transport)
    await server.stderr.waitForLine(/webhooks listening/)
  })
  afterAll(async () => {
    await stack?.close()
    await routes?.close()
  })

  it("an inbound message by signed webhook opens the window: a free-form reply is sent, and the thread shows the window and the name", async () => {
    const { sid } = await inbound(adaWhatsApp, "Where is my order?", "Ada Lovelace")
    const creates = routes.creates()
    const sent = await server.call("send_sms", { to: adaWhatsApp, message: "It ships today." })
    expect(sent).toMatchObject({ to: adaWhatsApp, from: WHATSAPP_NUMBER, channel: "whatsapp", windowOpenUntil: expect.any(String) })
    expect(routes.creates()).toBe(creates + 1)
    expect(await stack.emulator.fetchMessage(sent.messageSid)).toMatchObject({ to: adaWhatsApp, from: WHATSAPP_NUMBER, body: "It ships today." })

    const thread = await server.call("get_conversation_thread", { conversationId: sent.conversationId })
    expect(thread).toMatchObject({
      channel: "whatsapp",
      names: { [adaWhatsApp]: "Ada Lovelace" },
      windowOpenUntil: sent.windowOpenUntil,
      messages: [{ messageSid: sid, channel: "whatsapp", profileName: "Ada Lovelace" }, { messageSid: sent.messageSid, channel: "whatsapp" }]
    })
  })

  it("an SMS thread and a WhatsApp thread with the same number stay apart", async () => {
    await stack.emulator.simulateInbound(ada, "and by SMS")
    const { conversations } = await server.call("list_conversations", {})
    const withAda = conversations.filter((c: any) => c.participants.some((p: string) => p.endsWith(ada)))
    expect(withAda.map((c: any) => c.channel).sort()).toEqual(["sms", "whatsapp"])
    expect(new Set(withAda.map((c: any) => c.conversationId)).size).toBe(2)
    expect((await server.call("list_conversations", { channel: "sms" })).conversations.map((c: any) => c.participants)).toContainEqual(
      expect.arrayContaining([ada])
    )
  })

  it("read after delivered applies; delivered after read does not", async () => {
    const sent = await server.call("send_sms", { to: adaWhatsApp, message: "Did you get this?" })
    const stored = async () =>
      (await server.call("get_conversation_thread", { conversationId: sent.conversationId })).messages.find((m: any) => m.messageSid === sent.messageSid)
        .status
    await stack.emulator.simulateStatus(sent.messageSid, "delivered")
    expect(await stored()).toBe("delivered")
    await stack.emulator.simulateStatus(sent.messageSid, "read")
    expect(await stored()).toBe("read")
    await stack.emulator.simulateStatus(sent.messageSid, "delivered")
    expect(await stored()).toBe("read")
  })

  it("wait_for_reply wakes on a WhatsApp reply", async () => {
    const { conversations } = await server.call("list_conversations", { channel: "whatsapp" })
    const conversationId = conversations[0].conversationId
    let waiting: (p: Progress) => void = () => {}
    const started = new Promise<Progress>((resolve) => (waiting = resolve))
    const pending = server.client.callTool(
      { name: "wait_for_reply", arguments: { conversationId, timeoutSeconds: 40 } },
      undefined,
      { timeout: 60_000, onprogress: (p) => waiting(p) }
    )
    await started
    const reply = await inbound(adaWhatsApp, "Got it, thanks!")
    const result = await pending
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toMatchObject({
      status: "reply",
      conversationId,
      messages: [{ messageSid: reply.sid, channel: "whatsapp", profileName: "Ada L.", body: "Got it, thanks!" }]
    })
  }, 60_000)

  it("Twilio's 63016 (its window closed, ours not yet) comes back with what to do", async () => {
    routes.openWindows.delete(adaWhatsApp)
    const text = await server.callError("send_sms", { to: adaWhatsApp, message: "one more thing" })
    expect(text).toMatch(/63016.*approved template.*contentSid/)
    routes.openWindows.add(adaWhatsApp)
  })

  it("25 hours after their last message free-form text is refused without calling Twilio; a template goes out", async () => {
    await moveBack25Hours(stack, adaWhatsApp)
    const creates = routes.creates()
    const refused = await server.callError("send_sms", { to: adaWhatsApp, message: "Are you still there?" })
    expect(refused).toMatch(/window closed at \S+Z, 24 hours after .*template/)
    expect(routes.creates()).toBe(creates)

    const missing = await server.callError("send_sms", { to: adaWhatsApp, contentSid: orderUpdate!.sid, contentVariables: { 1: "Ada" } })
    expect(missing).toContain("missing: 2")
    expect(routes.creates()).toBe(creates)

    const sent = await server.call("send_sms", { to: adaWhatsApp, contentSid: orderUpdate!.sid, contentVariables: { 1: "Ada", 2: "A-100" } })
    expect(sent).toMatchObject({ channel: "whatsapp", windowOpenUntil: null })
    expect(routes.creates()).toBe(creates + 1)
    expect(await stack.emulator.fetchMessage(sent.messageSid)).toMatchObject({ body: "Hello Ada, your order A-100 has shipped." })
    const thread = await server.call("get_conversation_thread", { conversationId: sent.conversationId })
    expect(thread.windowOpenUntil).toBeNull()
    expect(thread.messages.at(-1)).toMatchObject({ messageSid: sent.messageSid, body: "Hello Ada, your order A-100 has shipped." })
  })

  it("without webhooks, sync_messages fetches what was sent to the WhatsApp sender", async () => {
    await stack.emulator.setSmsUrl("", WHATSAPP_NUMBER)
    const missed = await stack.emulator.simulateInbound("whatsapp:+15558000002", "sent while you were away", WHATSAPP_NUMBER)
    expect(await server.call("sync_messages", {})).toMatchObject({ inboundStored: 1 })
    const { messages } = await server.call("get_inbound_messages", { from: "whatsapp:+15558000002" })
    expect(messages).toMatchObject([{ messageSid: missed.sid, channel: "whatsapp", to: WHATSAPP_NUMBER, body: "sent while you were away" }])
    await stack.emulator.setSmsUrl(`${stack.env.WEBHOOK_BASE_URL}/webhooks/twilio/sms`, WHATSAPP_NUMBER)
  })

  it("list_templates shows WhatsApp's approval and each template's variables", async () => {
    expect(await server.call("list_templates", {})).toEqual({
      templates: [
        {
          contentSid: orderUpdate!.sid,
          name: "order_update",
          language: "en",
          body: "Hello {{1}}, your order {{2}} has shipped.",
          variables: ["1", "2"],
          whatsapp: { status: "approved", category: "UTILITY" }
        },
        {
          contentSid: promo!.sid,
          name: "promo",
          language: "en",
          body: "Our sale starts today.",
          variables: [],
          whatsapp: { status: "rejected", category: "MARKETING", rejectionReason: "Promotional content" }
        }
      ]
    })
  })
})

describe("WhatsApp in the sandbox", () => {
  let sandbox: McpProcess
  let dir: string

  beforeAll(async () => {
    dir = tempDir()
    sandbox = await startMcp({ DATABASE_PATH: path.join(dir, "sandbox.db"), WEBHOOK_PORT: String(await freePort()), LOG_LEVEL: "debug" }, dir, ["--sandbox"])
  })
  afterAll(async () => {
    await sandbox?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("simulate_inbound from a whatsapp: address opens a WhatsApp thread; the reply goes out from the sandbox number and is read", async () => {
    const who = "whatsapp:+15558000009"
    expect(await sandbox.callError("send_sms", { to: who, message: "hi" })).toContain("has not written to you on WhatsApp")
    const simulated = await sandbox.call("simulate_inbound", { from: who, body: "hello from WhatsApp" })
    const sent = await sandbox.call("send_sms", { to: who, message: "hello back" })
    expect(sent).toMatchObject({ conversationId: simulated.conversationId, from: WHATSAPP_NUMBER, channel: "whatsapp" })
    await sandbox.stderr.waitForLine(new RegExp(`sandbox carrier: ${sent.messageSid} read`))
    const thread = await sandbox.call("get_conversation_thread", { conversationId: sent.conversationId })
    expect(thread).toMatchObject({ channel: "whatsapp", messages: [{ messageSid: simulated.messageSid }, { messageSid: sent.messageSid, status: "read" }] })
  })
})
