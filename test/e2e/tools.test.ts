/**
 * Every tool against the Twilio emulator, and the webhook paths the emulator drives: the built server is
 * spawned once per transport (stdio; `http` with the webhooks on the same port) and talked to with the MCP
 * SDK client. The assertions are the same for both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { OUR_NUMBER } from "../support/Emulator.js"
import { type McpProcess, TRANSPORTS } from "../support/McpProcess.js"
import { type Stack, startStackWithServer } from "../support/Stack.js"

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const SID = /^SM[0-9a-f]{32}$/
const isIso = (s: string) => new Date(s).toISOString() === s

describe.each(TRANSPORTS)("over %s", (transport) => {
  let stack: Stack
  let server: McpProcess

  beforeAll(async () => {
    ;({ stack, server } = await startStackWithServer(transport))
  })
  afterAll(() => stack?.close())

  const thread = (conversationId: string) => server.call("get_conversation_thread", { conversationId })

  describe("send_sms", () => {
    it("sends through Twilio, answers the documented shape, and the emulator holds the message", async () => {
      const result = await server.callTool("send_sms", { to: "+15557000001", message: "Hello from e2e" })
      const sent = result.structuredContent as any

      expect(result.isError).toBeFalsy()
      expect(sent).toMatchObject({ status: "queued", to: "+15557000001", from: OUR_NUMBER })
      expect(sent.messageSid).toMatch(SID)
      expect(sent.conversationId).toMatch(UUID)
      expect(isIso(sent.timestamp)).toBe(true)
      // Clients that read only the text see the same object.
      expect(JSON.parse((result.content as Array<{ text: string }>)[0]!.text)).toEqual(sent)
      await expect(server.stderr.waitForLine(new RegExp(`status callback.*${sent.messageSid}.*queued`))).resolves.toBeTruthy()

      const stored = await stack.emulator.fetchMessage(sent.messageSid)
      expect(stored).toMatchObject({ status: "queued", body: "Hello from e2e", from: OUR_NUMBER, to: "+15557000001" })
    })
  })

  describe("get_message_status", () => {
    it("reports queued, then delivered after the emulator moves the message", async () => {
      const sent = await server.call("send_sms", { to: "+15557000002", message: "status please" })
      expect(await server.call("get_message_status", { messageSid: sent.messageSid })).toMatchObject({
        messageSid: sent.messageSid,
        status: "queued",
        to: "+15557000002",
        from: OUR_NUMBER
      })

      await stack.emulator.simulateStatus(sent.messageSid, "delivered")

      const status = await server.call("get_message_status", { messageSid: sent.messageSid })
      expect(status).toMatchObject({ messageSid: sent.messageSid, status: "delivered", to: "+15557000002", from: OUR_NUMBER })
      expect(isIso(status.timestamp)).toBe(true)
    })

    it("asks Twilio live: a message this server never stored is found with its current status", async () => {
      const { sid } = await stack.emulator.createMessage("+15557000003", "sent around the server")
      await stack.emulator.simulateStatus(sid, "sent")

      expect(await server.call("get_message_status", { messageSid: sid })).toMatchObject({
        messageSid: sid,
        status: "sent",
        to: "+15557000003",
        from: OUR_NUMBER
      })
    })
  })

  describe("create_conversation", () => {
    it("creates once, returns the same conversation for the same participants, and send_sms threads into it", async () => {
      const metadata = { campaign: "e2e", priority: "high" }
      const created = await server.call("create_conversation", { participants: [OUR_NUMBER, "+15557000004"], metadata })
      expect(created).toMatchObject({ participants: expect.arrayContaining([OUR_NUMBER, "+15557000004"]), metadata, alreadyExisted: false })
      expect(created.conversationId).toMatch(UUID)
      expect(isIso(created.createdAt)).toBe(true)

      const again = await server.call("create_conversation", { participants: ["+15557000004", OUR_NUMBER] })
      expect(again).toMatchObject({ conversationId: created.conversationId, alreadyExisted: true })

      const sent = await server.call("send_sms", { to: "+15557000004", message: "into the thread" })
      expect(sent.conversationId).toBe(created.conversationId)
    })
  })

  describe("get_conversation_thread", () => {
    it("holds the sent message and the emulator's inbound reply in one chronological thread", async () => {
      const sent = await server.call("send_sms", { to: "+15557000005", message: "Are you coming?" })
      const reply = await stack.emulator.simulateInbound("+15557000005", "Yes, on my way")

      const result = await thread(sent.conversationId)
      expect(result.conversationId).toBe(sent.conversationId)
      expect([...result.participants].sort()).toEqual([OUR_NUMBER, "+15557000005"].sort())
      expect(result.messages).toMatchObject([
        { messageSid: sent.messageSid, direction: "outbound", from: OUR_NUMBER, to: "+15557000005", body: "Are you coming?" },
        { messageSid: reply.sid, direction: "inbound", from: "+15557000005", to: OUR_NUMBER, body: "Yes, on my way", status: "received" }
      ])
      expect(result.messages[0].timestamp <= result.messages[1].timestamp).toBe(true)
    })
  })

  describe("get_inbound_messages", () => {
    it("returns a message the emulator delivered through the signed webhook, in the sender's conversation", async () => {
      const inbound = await stack.emulator.simulateInbound("+15557000006", "Hi, is this the support line?")

      const { messages, totalCount } = await server.call("get_inbound_messages", { from: "+15557000006" })
      expect(totalCount).toBe(1)
      expect(messages[0]).toMatchObject({
        messageSid: inbound.sid,
        direction: "inbound",
        from: "+15557000006",
        to: OUR_NUMBER,
        body: "Hi, is this the support line?",
        status: "received"
      })
      const conversation = await server.call("create_conversation", { participants: ["+15557000006", OUR_NUMBER] })
      expect(conversation.alreadyExisted).toBe(true)
      expect(messages[0].conversationId).toBe(conversation.conversationId)
      const byConversation = await server.call("get_inbound_messages", { conversationId: conversation.conversationId })
      expect(byConversation.messages.map((m: { messageSid: string }) => m.messageSid)).toEqual([inbound.sid])
    })
  })

  describe("status callbacks", () => {
    it("the emulator's signed callbacks reach the webhook server and move the stored message to delivered", async () => {
      const sent = await server.call("send_sms", { to: "+15557000007", message: "track me" })
      // The emulator posts the `queued` callback before it answers the create: it raced the send's own insert.
      await server.stderr.waitForLine(new RegExp(`status callback.*${sent.messageSid}.*queued`))
      expect((await thread(sent.conversationId)).messages[0]).toMatchObject({ messageSid: sent.messageSid, status: "queued" })

      await stack.emulator.simulateStatus(sent.messageSid, "sent")
      await stack.emulator.simulateStatus(sent.messageSid, "delivered")

      // Only the webhook can have written this: get_message_status is never called for this message.
      await server.stderr.waitForLine(new RegExp(`status callback ${sent.messageSid} delivered`))
      const result = await thread(sent.conversationId)
      expect(result.messages).toMatchObject([{ messageSid: sent.messageSid, direction: "outbound", status: "delivered" }])
    })
  })

  it("the client met no protocol error during all of the above (over stdio: nothing but JSON-RPC on stdout)", () => {
    expect(server.protocolErrors).toEqual([])
  })
})
