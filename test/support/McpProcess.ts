import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as os from "node:os"
import type { Readable } from "node:stream"
import { capture, type Output } from "./Output.js"
import { type Env, exitWithin, SERVER_ENTRY, spawnServer, track } from "./ServerProcess.js"

/**
 * How a test talks to the server: `stdio` spawns the default command (MCP on stdin/stdout, webhooks on
 * WEBHOOK_PORT); `http` spawns `http` (MCP at /mcp and the webhooks on WEBHOOK_PORT, bearer token).
 */
export type Transport = "stdio" | "http"
export const TRANSPORTS: ReadonlyArray<Transport> = ["stdio", "http"]

/** The bearer token of `http` servers in tests. */
export const MCP_TOKEN = "e2e-mcp-bearer-token-0123456789abcdef-0123456789"

export interface McpProcess {
  readonly transport: Transport
  /** http: the server's /mcp. */
  readonly url?: URL
  readonly client: Client
  readonly stderr: Output
  /** What the client could not handle, e.g. a stdout line that is not JSON-RPC. */
  readonly protocolErrors: ReadonlyArray<Error>
  readonly callTool: (name: string, args: Record<string, unknown>) => Promise<CallToolResult>
  /** A call that must succeed: its structuredContent. */
  readonly call: <A = any>(name: string, args: Record<string, unknown>) => Promise<A>
  /** A call that must fail as a tool result (isError): its text. */
  readonly callError: (name: string, args: Record<string, unknown>) => Promise<string>
  /**
   * stdio: closes stdin (as Claude Code does), then the SDK escalates to SIGTERM/SIGKILL. http: closes the
   * client, then SIGTERM. Resolves once the process is gone.
   */
  readonly stop: () => Promise<void>
  /** stdio: the server's process id (to kill it as a crash would). */
  readonly pid?: number
}

const text = (result: CallToolResult) =>
  result.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n")

/** The session's helpers around a connected client. */
const withClient = (
  transport: Transport,
  client: Client,
  stderr: Output,
  protocolErrors: ReadonlyArray<Error>,
  stop: () => Promise<void>,
  url?: URL
): McpProcess => {
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
  return { transport, ...(url === undefined ? {} : { url }), client, stderr, protocolErrors, callTool, call, callError, stop }
}

const newClient = () => {
  const client = new Client({ name: "twilio-mcp-e2e", version: "0.0.0" })
  const protocolErrors: Array<Error> = []
  client.onerror = (error) => protocolErrors.push(error)
  return { client, protocolErrors }
}

/** Spawns `command …args` with `env` and connects the MCP SDK client over stdio. */
const startStdio = async (env: Env, cwd: string, args: ReadonlyArray<string>, command: ReadonlyArray<string>): Promise<McpProcess> => {
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
  const { client, protocolErrors } = newClient()
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
  return { ...withClient("stdio", client, stderr, protocolErrors, stop), ...(transport.pid === null ? {} : { pid: transport.pid }) }
}

const connectHttp = (client: Client, url: URL) =>
  client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${MCP_TOKEN}` } } }))

/** Spawns `node dist/index.js http …args` and connects the MCP SDK client to /mcp with the bearer token. */
const startHttp = async (env: Env, cwd: string, args: ReadonlyArray<string>): Promise<McpProcess> => {
  const server = spawnServer({ MCP_AUTH_TOKEN: MCP_TOKEN, ...env }, ["http", ...args], cwd)
  const { client, protocolErrors } = newClient()
  const stop = track(async () => {
    await client.close()
    server.child.kill("SIGTERM")
    await exitWithin(server)
  })
  try {
    const listening = await server.stderr.waitForLine(/webhooks listening on /)
    const url = new URL("/mcp", /listening on (http:\/\/[^\s"]+)/.exec(listening)![1])
    await connectHttp(client, url)
    return withClient("http", client, server.stderr, protocolErrors, stop, url)
  } catch (error) {
    await server.kill()
    throw new Error(`could not connect: ${String(error)}\nstderr:\n${server.stderr.text()}`)
  }
}

/** One more client of a running `http` server; `stop` closes only this client. */
export const connectMcp = async (to: McpProcess): Promise<McpProcess> => {
  if (to.url === undefined) throw new Error("connectMcp needs an http server")
  const { client, protocolErrors } = newClient()
  await connectHttp(client, to.url)
  return withClient("http", client, to.stderr, protocolErrors, () => client.close(), to.url)
}

/**
 * Spawns the built server (`args` after the command) and connects the MCP SDK client over `transport`. Over
 * stdio, `command` can start something else than `node dist/index.js`, e.g. an installed bin.
 */
export const startMcp = (
  env: Env,
  cwd = os.tmpdir(),
  args: ReadonlyArray<string> = [],
  transport: Transport = "stdio",
  command: ReadonlyArray<string> = [process.execPath, SERVER_ENTRY]
) => transport === "stdio" ? startStdio(env, cwd, args, command) : startHttp(env, cwd, args)
