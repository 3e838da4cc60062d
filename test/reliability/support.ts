/** Helpers shared by the reliability tests: reading tool results, judging error text, edge values. */
import { expect } from "@effect/vitest"
import Database from "better-sqlite3"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as http from "node:http"
import * as net from "node:net"
import * as path from "node:path"
import twilio from "twilio"
import { ACCOUNT_SID, OUR_NUMBER } from "../support/Emulator.js"
import { freePort } from "../support/ports.js"
import { type Env, serverEnv } from "../support/ServerProcess.js"
import { inboundParams, sid, SMS_PATH } from "../webhooks/harness.js"

export const textOf = (result: CallToolResult) => result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n")

/** What must never reach a model or an HTTP client: stack frames, source paths, object dumps, defects. */
export const internals = /\n\s+at \S|\bat \S+ \(\S+:\d+:\d+\)|\.[jt]s:\d+|node_modules|\[object |Internal error/

/** An error a model can act on: non-empty text without internals. */
export const expectReadableError = (text: string) => {
  expect(text.trim(), "an empty error message").not.toBe("")
  expect(text).not.toMatch(internals)
}

/** 100,000 characters: far past every limit (the largest is 64 KiB), small enough to keep runs fast. */
export const HUGE = "x".repeat(100_000)

/**
 * Strings at the edges: empty, whitespace, exactly at and one past the 1600-character SMS limit (ASCII,
 * accented, astral emoji counted in UTF-16 units as the schemas do), control characters, bidi overrides,
 * a lone surrogate, injection-looking text, and a huge string.
 */
export const edgeStrings: ReadonlyArray<string> = [
  "",
  " ",
  "\t\r\n",
  "a".repeat(1600),
  "a".repeat(1601),
  "é".repeat(1600),
  "😀".repeat(800),
  "😀".repeat(801),
  "\u0000",
  "\u0007\u001b[31mred\u001b[0m",
  "\u202eevil\u202c",
  "\ud800",
  "'; DROP TABLE messages; --",
  "\" OR 1=1 --",
  "NEAR(a b) OR *",
  "%s%n%x",
  "__proto__",
  HUGE
]

/** Numbers at and around every bound the tools declare, plus extremes JSON can carry. */
export const edgeNumbers: ReadonlyArray<number> = [
  0, 1, -1, 0.5, 1.5, 19, 20, 21, 45, 49, 50, 51, 199, 200, 201, 499, 500, 501, 719, 720, 721, 999, 1000, 1001,
  -0, 1e21, -1e21, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, Number.MAX_VALUE, Number.MIN_VALUE
]

// ---------------------------------------------------------------------------------------------------------
// Raw HTTP to a spawned server: no client-side normalization of paths, every outcome observable.

export interface RawRequest {
  readonly method: string
  readonly path: string
  /** A list (name, value, name, value…) sends a header twice. */
  readonly headers: Record<string, string> | ReadonlyArray<string>
  readonly body?: string
  /** The body in 8 KiB chunks without Content-Length. */
  readonly chunked?: boolean
}

export interface RawReply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

const collect = (req: http.ClientRequest) =>
  new Promise<RawReply>((resolve, reject) => {
    req.once("error", reject)
    // A server that accepts an Upgrade: reported as its 101, and the socket closed.
    req.once("upgrade", (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode ?? 101, headers: res.headers, body: "" })
    })
    req.once("response", (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.once("error", reject)
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }))
    })
  })

const open = (port: number, request: RawRequest) =>
  http.request({ host: "127.0.0.1", port, method: request.method, path: request.path, headers: request.headers as Array<string>, agent: false })

/** One request on its own connection; rejects with the socket error (ECONNREFUSED, ECONNRESET…). */
export const rawRequest = (port: number, request: RawRequest): Promise<RawReply> => {
  const req = open(port, request)
  const reply = collect(req)
  if (!request.chunked || request.body === undefined) return (req.end(request.body), reply)
  for (let i = 0; i < request.body.length; i += 8192) req.write(request.body.slice(i, i + 8192))
  req.end()
  return reply
}

/**
 * A request caught mid-body: resolves once the server has read its headers (it answered
 * `100 Continue`), with half the body sent; `finish` sends the rest and resolves with the reply.
 */
export const startSlowRequest = (port: number, request: RawRequest) =>
  new Promise<{ readonly finish: () => Promise<RawReply>; readonly abort: () => void }>((resolve, reject) => {
    const body = request.body ?? ""
    const req = open(port, { ...request, headers: { ...request.headers, expect: "100-continue" } })
    const reply = collect(req)
    reply.catch(reject)
    req.once("continue", () => {
      req.write(body.slice(0, body.length >> 1))
      resolve({ finish: () => (req.end(body.slice(body.length >> 1)), reply), abort: () => req.destroy() })
    })
    req.flushHeaders()
  })

/** Whether a TCP connection to 127.0.0.1:`port` is refused right now. */
export const connectionRefused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"))
  })

/** A webhook POST signed the way Twilio signs it, for a server whose environment is `env`. */
export const signedPost = (env: Readonly<Record<string, string>>, path: string, params: Record<string, string>): RawRequest => {
  const body = new URLSearchParams(params).toString()
  const signature = twilio.getExpectedTwilioSignature(env.TWILIO_AUTH_TOKEN!, `${env.WEBHOOK_BASE_URL}${path}`, params)
  return {
    method: "POST",
    path,
    headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(Buffer.byteLength(body)), "x-twilio-signature": signature },
    body
  }
}

// ---------------------------------------------------------------------------------------------------------
// Webhook load on spawned `webhooks` processes, and what they stored in their SQLite file.

/** A server environment on a fresh database in `dir`; Twilio's API URL is a closed port, so nothing leaves 127.0.0.1. */
export const freshWebhookEnv = async (dir: string, name: string): Promise<Env> => ({
  ...serverEnv({ twilioUrl: `http://127.0.0.1:${await freePort()}`, webhookPort: await freePort(), databasePath: path.join(dir, `${name}.db`) }),
  LOG_LEVEL: "info"
})

/** Inbound webhook number `n`, signed for `env`'s WEBHOOK_BASE_URL. */
export const inbound = (env: Env, n: number) => signedPost(env, SMS_PATH, inboundParams(sid(n), { AccountSid: ACCOUNT_SID, To: OUR_NUMBER }))

export const storedSids = (databasePath: string) => {
  const db = new Database(databasePath, { readonly: true })
  try {
    return new Set(db.prepare("SELECT sid FROM messages").pluck().all() as Array<string>)
  } finally {
    db.close()
  }
}

export type Outcome = { readonly n: number; readonly status: number } | { readonly n: number; readonly error: string }

/**
 * `total` signed inbound webhooks from `workers` concurrent clients, each on its own connection; `onAck`
 * sees the running count of 2xx answers. Every outcome is kept: a status, or the socket error.
 */
export const load = async (env: Env, options: { total: number; workers: number; first: number; onAck?: (acked: number) => void }) => {
  const port = Number(env.WEBHOOK_PORT)
  const outcomes: Array<Outcome> = []
  let next = options.first
  let acked = 0
  const worker = async () => {
    while (next < options.first + options.total) {
      const n = next++
      const outcome = await rawRequest(port, inbound(env, n)).then(
        (reply): Outcome => ({ n, status: reply.status }),
        (error: NodeJS.ErrnoException): Outcome => ({ n, error: error.code ?? error.message })
      )
      outcomes.push(outcome)
      if ("status" in outcome && outcome.status < 300) options.onAck?.(++acked)
    }
  }
  await Promise.all(Array.from({ length: options.workers }, worker))
  return outcomes
}
