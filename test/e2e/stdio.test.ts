/**
 * The stdio contract, checked on raw pipes without the SDK client: stdout carries JSON-RPC and nothing
 * else, and closing stdin ends the process and frees the webhook port.
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest"
import { canListen } from "../support/ports.js"
import { exitWithin, spawnServer, stopAll } from "../support/ServerProcess.js"
import { type Stack, startStack } from "../support/Stack.js"

let stack: Stack

beforeAll(async () => {
  stack = await startStack()
})
afterEach(() => stopAll())
afterAll(() => stack?.close())

const jsonRpc = (message: Record<string, unknown>) => JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n"

it("writes only JSON-RPC 2.0 lines to stdout, even at LOG_LEVEL=debug with Twilio and webhook traffic", async () => {
  const server = spawnServer({ ...stack.env, LOG_LEVEL: "debug" }, [], stack.dir)
  server.child.stdin.write(
    jsonRpc({
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw-e2e", version: "0.0.0" } }
    }) +
      jsonRpc({ method: "notifications/initialized" }) +
      jsonRpc({ id: 2, method: "tools/list" }) +
      jsonRpc({ id: 3, method: "tools/call", params: { name: "send_sms", arguments: { to: "+15557200001", message: "raw" } } })
  )
  await server.stdout.waitForLine(/"id":3/)
  await server.stderr.waitForLine(/webhooks listening/)
  await stack.emulator.simulateInbound("+15557200001", "inbound while debugging")
  await server.stderr.waitForLine(/inbound message/)
  server.child.stdin.end()
  expect(await exitWithin(server)).toEqual({ code: 0, signal: null })

  const stdout = server.stdout.text()
  expect(stdout.endsWith("\n")).toBe(true)
  const messages = stdout.trimEnd().split("\n").map((line) => JSON.parse(line))
  for (const message of messages) {
    expect(message).toMatchObject({ jsonrpc: "2.0", id: expect.any(Number) })
    expect("result" in message).toBe(true)
  }
  expect(messages.map((m) => m.id)).toEqual([1, 2, 3])
  expect(messages[0].result.serverInfo.name).toBe("twilio-mcp")
  expect(messages[1].result.tools.map((t: { name: string }) => t.name)).toContain("send_sms")
  expect(messages[2].result.structuredContent).toMatchObject({ status: "queued", to: "+15557200001" })
  // The logs exist; they went to stderr.
  expect(server.stderr.lines().some((line) => line.includes("level=DEBUG"))).toBe(true)
})

it("exits with code 0 when stdin closes, and the webhook port is free again", async () => {
  const server = spawnServer(stack.env, [], stack.dir)
  await server.stderr.waitForLine(/twilio-mcp ready/)
  expect(await canListen(stack.webhookPort)).toBe(false)

  server.child.stdin.end()

  expect(await exitWithin(server)).toEqual({ code: 0, signal: null })
  expect(await canListen(stack.webhookPort)).toBe(true)
})

// stdin's 'end' may fire while the database and webhook server are still starting: it must still count.
it("exits when stdin closes before start-up has finished", async () => {
  const server = spawnServer(stack.env, [], stack.dir)
  server.child.stdin.end()

  expect(await exitWithin(server, 5_000)).toEqual({ code: 0, signal: null })
  expect(await canListen(stack.webhookPort)).toBe(true)
})
