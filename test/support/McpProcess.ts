import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as os from "node:os"
import type { Readable } from "node:stream"
import { capture, type Output } from "./Output.js"
import { type Env, SERVER_ENTRY, track } from "./ServerProcess.js"

export interface McpProcess {
  readonly client: Client
  readonly stderr: Output
  /** What the client could not handle, e.g. a stdout line that is not JSON-RPC. */
  readonly protocolErrors: ReadonlyArray<Error>
  readonly callTool: (name: string, args: Record<string, unknown>) => Promise<CallToolResult>
  /** A call that must succeed: its structuredContent. */
  readonly call: <A = any>(name: string, args: Record<string, unknown>) => Promise<A>
  /** A call that must fail as a tool result (isError): its text. */
  readonly callError: (name: string, args: Record<string, unknown>) => Promise<string>
  /** Closes stdin (as Claude Code does), then the SDK escalates to SIGTERM/SIGKILL; resolves once it is gone. */
  readonly stop: () => Promise<void>
}

const text = (result: CallToolResult) =>
  result.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n")

/**
 * Spawns `node dist/index.js …args` (or `command …args`, e.g. an installed bin) with `env` and connects the
 * MCP SDK client over stdio.
 */
export const startMcp = async (
  env: Env,
  cwd = os.tmpdir(),
  args: ReadonlyArray<string> = [],
  command: ReadonlyArray<string> = [process.execPath, SERVER_ENTRY]
): Promise<McpProcess> => {
  const transport = new StdioClientTransport({
    command: command[0]!,
    args: [...command.slice(1), ...args],
    env,
    cwd,
    stderr: "pipe"
  })
  const stderr = capture(transport.stderr as Readable, "stderr")
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve
  })
  const client = new Client({ name: "twilio-mcp-e2e", version: "0.0.0" })
  const protocolErrors: Array<Error> = []
  client.onerror = (error) => protocolErrors.push(error)
  const stop = track(async () => {
    await client.close()
    await closed
  })
  try {
    await client.connect(transport)
  } catch (error) {
    await stop()
    throw new Error(`could not connect: ${String(error)}\nstderr:\n${stderr.text()}`)
  }

  const callTool = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult
  const call = async (name: string, args: Record<string, unknown>) => {
    const result = await callTool(name, args)
    if (result.isError) throw new Error(`${name} failed: ${text(result)}`)
    return result.structuredContent as any
  }
  const callError = async (name: string, args: Record<string, unknown>) => {
    const result = await callTool(name, args)
    if (!result.isError) throw new Error(`${name} succeeded but should have failed: ${text(result)}`)
    return text(result)
  }
  return { client, stderr, protocolErrors, callTool, call, callError, stop }
}
