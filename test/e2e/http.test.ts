/**
 * The `http` command end to end: the built server with MCP over Streamable HTTP at /mcp and the webhooks on
 * one port, against the Twilio emulator, talked to with the MCP SDK's Streamable HTTP client. Several
 * clients at once, two replicas on one database, the same tools as over stdio, and no start without tokens.
 */
import type { Progress } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { OUR_NUMBER } from "../support/Emulator.js"
import { connectMcp, MCP_TOKEN, type McpProcess, startMcp } from "../support/McpProcess.js"
import { freePort } from "../support/ports.js"
import { exitWithin, spawnServer } from "../support/ServerProcess.js"
import { type Stack, startStack } from "../support/Stack.js"

let stack: Stack
/** Holds the stack's webhook port: the emulator's webhooks arrive here. */
let server: McpProcess

beforeAll(async () => {
  stack = await startStack()
  server = await startMcp(stack.env, stack.dir, [], "http")
})
afterAll(() => stack?.close())

/** Another `http` process on the same database, on a port of its own: no webhook reaches it. */
const replica = async () => startMcp({ ...stack.env, WEBHOOK_PORT: String(await freePort()) }, stack.dir, [], "http")

describe("start-up", () => {
  it("without MCP_AUTH_TOKEN, `http` exits 1 saying so, and serves nothing", async () => {
    expect(stack.env).not.toHaveProperty("MCP_AUTH_TOKEN")
    const refused = spawnServer({ ...stack.env, WEBHOOK_PORT: String(await freePort()) }, ["http"], stack.dir)
    expect(await exitWithin(refused)).toEqual({ code: 1, signal: null })
    expect(refused.stderr.text()).toContain("MCP_AUTH_TOKEN is required by the http command")
    expect(refused.stderr.text()).not.toContain("listening")
    expect(refused.stdout.text()).toBe("")
  })

  it("SIGTERM drains and exits 0", async () => {
    const other = spawnServer({ ...stack.env, MCP_AUTH_TOKEN: MCP_TOKEN, WEBHOOK_PORT: String(await freePort()) }, ["http"], stack.dir)
    await other.stderr.waitForLine(/webhooks listening/)
    other.child.kill("SIGTERM")
    expect(await exitWithin(other)).toEqual({ code: 0, signal: null })
  })
})

describe("one bridge, two transports", () => {
  it("tools/list, a result's shape and an error are the same over stdio and HTTP", async () => {
    const stdio = await startMcp({ ...stack.env, WEBHOOK_PORT: String(await freePort()) }, stack.dir)
    try {
      expect(await server.client.listTools()).toEqual(await stdio.client.listTools())
      const bad = { to: "5551234", message: "", colour: "red" }
      expect(await server.callError("send_sms", bad)).toBe(await stdio.callError("send_sms", bad))
      const unknown = { conversationId: "2f1b7a52-9a53-4c4e-8d0e-0c6f3e1b9a10" }
      expect(await server.callError("get_conversation_thread", unknown)).toBe(await stdio.callError("get_conversation_thread", unknown))
      expect(server.client.getServerCapabilities()).toEqual(stdio.client.getServerCapabilities())
      expect(server.client.getServerCapabilities()).toMatchObject({ tools: {}, logging: {} })
      await expect(server.client.setLoggingLevel("warning")).resolves.toEqual({})
      await expect(stdio.client.setLoggingLevel("warning")).resolves.toEqual({})
    } finally {
      await stdio.stop()
    }
  })
})

describe("several clients at once", () => {
  it("clients on two replicas send and wait for replies at once; the webhooks arriving while they wait wake each with its own reply", async () => {
    const other = await replica()
    const clients = [server, ...(await Promise.all([0, 1, 2].map(() => connectMcp(server)))), other]
    try {
      const numbers = clients.map((_, i) => `+1555900000${i}`)
      // The last conversation is started through the first replica and waited on through the other.
      const sent = await Promise.all(numbers.map((to, i) => clients[i === clients.length - 1 ? 0 : i]!.call("send_sms", { to, message: `question ${i}` })))
      const progressed: Array<(p: Progress) => void> = []
      const firstProgress = clients.map((_, i) => new Promise<Progress>((resolve) => (progressed[i] = resolve)))
      const pending = clients.map((client, i) =>
        client.client.callTool(
          { name: "wait_for_reply", arguments: { conversationId: sent[i].conversationId, timeoutSeconds: 40 } },
          undefined,
          { timeout: 60_000, onprogress: (p) => progressed[i]!(p) }
        )
      )
      // Every call is waiting (each has streamed a progress notification over SSE) before any reply arrives.
      await Promise.all(firstProgress)
      const replies = await Promise.all(numbers.map((from, i) => stack.emulator.simulateInbound(from, `answer ${i}`)))

      const results = await Promise.all(pending)
      results.forEach((result, i) => {
        expect(result.isError).toBeFalsy()
        expect(result.structuredContent).toMatchObject({
          status: "reply",
          conversationId: sent[i].conversationId,
          messages: [{ messageSid: replies[i]!.sid, from: numbers[i], to: OUR_NUMBER, body: `answer ${i}` }]
        })
      })
      expect(clients.flatMap((c) => c.protocolErrors)).toEqual([])
    } finally {
      await Promise.all(clients.slice(1).map((c) => c.stop()))
    }
  }, 90_000)
})
