/**
 * Processes that come and go around one database file: a restart keeps the data, and a second process on
 * the same webhook port serves tools from the database the first one's webhooks write.
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest"
import { OUR_NUMBER } from "../support/Emulator.js"
import { type McpProcess, startMcp } from "../support/McpProcess.js"
import { stopAll } from "../support/ServerProcess.js"
import { type Stack, startStack } from "../support/Stack.js"

let stack: Stack

beforeAll(async () => {
  stack = await startStack()
})
afterEach(() => stopAll())
afterAll(() => stack?.close())

/** A server that holds the webhook port, so the emulator's webhooks reach it. */
const startListening = async () => {
  const server = await startMcp(stack.env, stack.dir)
  await server.stderr.waitForLine(/webhooks listening/)
  return server
}

const sids = (messages: ReadonlyArray<{ messageSid: string }>) => messages.map((m) => m.messageSid)

it("a new process on the same DATABASE_PATH still returns the conversation", async () => {
  const first = await startListening()
  const sent = await first.call("send_sms", { to: "+15557300001", message: "before the restart" })
  const reply = await stack.emulator.simulateInbound("+15557300001", "got it")
  await first.stop()

  const second = await startMcp(stack.env, stack.dir)
  const thread = await second.call("get_conversation_thread", { conversationId: sent.conversationId })

  expect(sids(thread.messages)).toEqual([sent.messageSid, reply.sid])
  expect(thread.messages.map((m: { body: string }) => m.body)).toEqual(["before the restart", "got it"])
})

it("a second process on the same port and database warns on stderr and keeps serving tools", async () => {
  const first = await startListening()
  const second: McpProcess = await startMcp(stack.env, stack.dir)
  await second.stderr.waitForLine(new RegExp(`webhook port ${stack.webhookPort} is in use`))

  const sent = await second.call("send_sms", { to: "+15557300002", message: "from the second process" })
  expect(sent).toMatchObject({ status: "queued", from: OUR_NUMBER })
  expect((await stack.emulator.fetchMessage(sent.messageSid)).body).toBe("from the second process")

  // The emulator's webhooks reach the first process; the second reads what it stored.
  const inbound = await stack.emulator.simulateInbound("+15557300002", "reply via the first process")
  const { messages } = await second.call("get_inbound_messages", { from: "+15557300002" })
  expect(sids(messages)).toEqual([inbound.sid])
  expect(messages[0].conversationId).toBe(sent.conversationId)

  await stack.emulator.simulateStatus(sent.messageSid, "delivered")
  // The first process logs the callback once it is committed; the second then reads it from the shared file.
  await first.stderr.waitForLine(new RegExp(`status callback ${sent.messageSid} delivered`))
  const thread = await second.call("get_conversation_thread", { conversationId: sent.conversationId })
  expect(sids(thread.messages)).toEqual([sent.messageSid, inbound.sid])
  expect(thread.messages[0].status).toBe("delivered")
})
