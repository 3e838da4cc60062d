// A minimal MCP client over stdio (newline-delimited JSON-RPC): enough to time `initialize`, read
// `tools/list` and call tools, with nothing between the bench and the server's pipe.
import { readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { start, stop } from "./procs.mjs"

export const PROTOCOL_VERSION = "2025-06-18"

const args0 = (child) => child.spawnargs.slice(1).join(" ")

/** The end of a server's log, for the error when it exits before answering. */
const logTail = (log) => {
  try {
    return `; its log ends:\n${readFileSync(log, "utf8").split("\n").slice(-8).join("\n")}`
  } catch {
    return ""
  }
}

export class McpProcess {
  /** Spawns the server and sends `initialize` at once; `initialized` resolves with the timing. */
  static spawn(command, args, options) {
    const spawnedAt = performance.now()
    const child = start(command, args, options)
    const client = new McpProcess(child, options?.log)
    client.initialized = client.request("initialize", {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: "twilio-mcp-bench", version: "1" }
    }, 30_000).then((result) => {
      const ms = performance.now() - spawnedAt
      client.notify("notifications/initialized")
      return { ms, result }
    })
    return client
  }

  constructor(child, log) {
    this.child = child
    this.pending = new Map()
    this.nextId = 1
    this.buffer = ""
    this.rawSizes = new Map()
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk) => this.onData(chunk))
    child.once("exit", (code, signal) => this.failAll(new Error(`${args0(child)} exited (code ${code}, signal ${signal})${logTail(log)}`)))
  }

  get pid() {
    return this.child.pid
  }

  onData(chunk) {
    this.buffer += chunk
    let newline
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline)
      this.buffer = this.buffer.slice(newline + 1)
      if (line.trim() !== "") this.onLine(line)
    }
  }

  onLine(line) {
    const message = JSON.parse(line)
    const waiter = message.id === undefined ? undefined : this.pending.get(message.id)
    if (waiter === undefined) return // a notification (progress, logging)
    this.pending.delete(message.id)
    clearTimeout(waiter.timer)
    if (message.error !== undefined) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`))
    else waiter.resolve(message.result)
  }

  failAll(error) {
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer)
      waiter.reject(error)
    }
    this.pending.clear()
  }

  send(message) {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`)
  }

  notify(method, params) {
    this.send(params === undefined ? { method } : { method, params })
  }

  /** One request; rejects on a JSON-RPC error, on exit, or after `timeoutMs`. */
  request(method, params, timeoutMs = 60_000) {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${method} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, { method, resolve, reject, timer })
      this.send({ id, method, params })
    })
  }

  /** A tool call; a result with `isError` is a failure here: the bench only makes valid calls. */
  async callTool(name, args, { timeoutMs = 60_000, progressToken } = {}) {
    const params = { name, arguments: args, ...(progressToken === undefined ? {} : { _meta: { progressToken } }) }
    const result = await this.request("tools/call", params, timeoutMs)
    if (result.isError) throw new Error(`${name} failed: ${result.content?.[0]?.text}`)
    return result
  }

  close() {
    return stop(this.child)
  }
}
