/**
 * Failures come back as tool results with isError and a message the model can act on; the process keeps
 * serving afterwards. The same over stdio and Streamable HTTP.
 */
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type McpProcess, startMcp, TRANSPORTS } from "../support/McpProcess.js"
import { freePort } from "../support/ports.js"
import { serverEnv } from "../support/ServerProcess.js"
import { type Stack, startStack } from "../support/Stack.js"

describe.each(TRANSPORTS)("over %s", (transport) => {
  let stack: Stack
  let server: McpProcess

  beforeAll(async () => {
    stack = await startStack()
    server = await startMcp(stack.env, stack.dir, [], transport)
  })
  afterAll(() => stack?.close())

  /** Still alive: answers a ping and a tool call that reads the database. */
  const expectAlive = async (mcp: McpProcess) => {
    await expect(mcp.client.ping()).resolves.toBeDefined()
    await expect(mcp.call("get_inbound_messages", { limit: 1 })).resolves.toMatchObject({ totalCount: expect.any(Number) })
  }

  const unknownUuid = "2f1b7a52-9a53-4c4e-8d0e-0c6f3e1b9a10"
  const unknownSid = `SM${"d".repeat(32)}`

  describe("tool errors against the emulator", () => {
    it.each([
      {
        case: "bad arguments",
        tool: "send_sms",
        args: { to: "5551234", message: "", colour: "red" },
        expected: [/Invalid arguments for send_sms/, /to: must be an E\.164 phone number/, /message: must not be empty/, /colour: is not a parameter/]
      },
      { case: "missing arguments", tool: "get_conversation_thread", args: {}, expected: [/conversationId: is missing/] },
      { case: "unknown tool", tool: "delete_everything", args: {}, expected: [/Unknown tool "delete_everything"/, /send_sms/] },
      {
        case: "unknown conversationId",
        tool: "get_conversation_thread",
        args: { conversationId: unknownUuid },
        expected: [new RegExp(`Conversation ${unknownUuid} not found`)]
      },
      {
        case: "send into an unknown conversation",
        tool: "send_sms",
        args: { to: "+15557100001", message: "hi", conversationId: unknownUuid },
        expected: [/not found/]
      },
      {
        case: "unknown messageSid (emulator 404)",
        tool: "get_message_status",
        args: { messageSid: unknownSid },
        expected: [new RegExp(`Message ${unknownSid} not found`)]
      },
      {
        case: "a from number the account does not own (Twilio would refuse it: 21606)",
        tool: "send_sms",
        args: { to: "+15557100002", message: "hi", from: "+15559990000" },
        expected: [/Not sent: \+15559990000 is not one of this account's SMS senders \(\+15550001111\)/]
      }
    ])("$case", async ({ tool, args, expected }) => {
      const text = await server.callError(tool, args)
      for (const pattern of expected) expect(text).toMatch(pattern)
      await expectAlive(server)
    })

    it("a rejected send stores nothing", async () => {
      await server.callError("send_sms", { to: "+15557100003", message: "hi", from: "+15559990000" })
      const conversation = await server.call("create_conversation", { participants: [stack.env.TWILIO_PHONE_NUMBER, "+15557100003"] })
      expect(conversation.alreadyExisted).toBe(false)
    })
  })

  describe("Twilio rejects the credentials", () => {
    it("reports 20003 for a wrong auth token and keeps serving", async () => {
      const webhookPort = await freePort()
      const wrong = await startMcp({
        ...serverEnv({ twilioUrl: stack.emulator.url, webhookPort, databasePath: path.join(stack.dir, "wrong-token.db") }),
        TWILIO_AUTH_TOKEN: "not-the-emulator-token-0123456789abcdef"
      }, stack.dir, [], transport)

      const text = await wrong.callError("send_sms", { to: "+15557100004", message: "hi" })
      expect(text).toMatch(/20003/)
      expect(text).toMatch(/Authentication failed: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/)
      await expectAlive(wrong)
    })
  })
})
