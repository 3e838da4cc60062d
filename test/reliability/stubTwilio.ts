/**
 * A loopback stand-in for Twilio's REST API: a plain node:http server on 127.0.0.1 whose answers each test
 * scripts, so the real SDK (through `Twilio.live` and TWILIO_API_BASE_URL) meets refusals, silence, 5xx,
 * rate limits and garbage over real HTTP.
 */
import * as Effect from "effect/Effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface StubRequest {
  readonly method: string
  readonly path: string
  readonly body: string
}

/** What the stub does with the n-th request (0-based): answer it, or `"hang"` to accept and never answer. */
export type StubAnswer = { readonly status: number; readonly body: string } | "hang"

export interface StubTwilio {
  readonly url: string
  /** Every request the stub received, in order. */
  readonly requests: ReadonlyArray<StubRequest>
}

/** The stub for the current scope: closed, hanging connections included, when the scope ends. */
export const stubTwilio = (answer: (request: StubRequest, n: number) => StubAnswer) =>
  Effect.acquireRelease(
    Effect.async<{ stub: StubTwilio; server: http.Server }>((resume) => {
      const requests: Array<StubRequest> = []
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const request = { method: req.method ?? "", path: req.url ?? "", body: Buffer.concat(chunks).toString("utf8") }
          const reply = answer(request, requests.length)
          requests.push(request)
          if (reply === "hang") return
          res.writeHead(reply.status, { "content-type": "application/json" }).end(reply.body)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ stub: { url: `http://127.0.0.1:${port}`, requests }, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  ).pipe(Effect.map(({ stub }) => stub))

const rfc2822 = "Mon, 16 Jan 2025 10:30:00 +0000"

/** A Message resource as Twilio's REST API returns it (snake_case JSON). */
export const messageJson = (fields: { readonly sid: string; readonly to: string; readonly from: string; readonly body: string }) =>
  JSON.stringify({
    sid: fields.sid,
    account_sid: `AC${"a".repeat(32)}`,
    to: fields.to,
    from: fields.from,
    body: fields.body,
    status: "queued",
    direction: "outbound-api",
    num_segments: "1",
    num_media: "0",
    error_code: null,
    error_message: null,
    date_created: rfc2822,
    date_updated: rfc2822,
    date_sent: null,
    api_version: "2010-04-01",
    uri: `/2010-04-01/Accounts/AC${"a".repeat(32)}/Messages/${fields.sid}.json`
  })

/** Twilio's error body for a REST failure. */
export const errorJson = (status: number, code: number, message: string) =>
  JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status })

/** Requests that create a message (POST …/Messages.json). */
export const creates = (stub: StubTwilio) => stub.requests.filter((r) => r.method === "POST" && /\/Messages\.json$/.test(r.path))
