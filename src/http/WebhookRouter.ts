import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { IncomingMessage, ServerResponse } from "node:http"
import { formatParseError } from "../domain/ParseErrors.js"
import { SMS_PATH, STATUS_PATH } from "../domain/WebhookPaths.js"
import type { InboundMessage, InboundOutcome } from "../Messaging.js"
import type { StatusOutcome, StatusUpdate } from "../MessageStore.js"
import type { Done } from "../Sqlite.js"
import { extraFields, type Form, InboundForm, mediaFields, parseForm, StatusForm } from "./Forms.js"

/** Twilio's bodies are a few KB at most (1600-character body, 10 media URLs, geo fields). */
export const MAX_BODY_BYTES = 64 * 1024

/** Answered to every accepted webhook: Twilio logs an error for an empty body. */
const EMPTY_TWIML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"

/** A 400's reason quotes the offending values: kept short, whatever size they were (up to 64 KiB). */
const MAX_REASON_LENGTH = 500

export type Validate = (authToken: string, signature: string, url: string, params: Form) => boolean

type Route = (request: IncomingMessage, response: ServerResponse) => void

const reply = (response: ServerResponse, status: number, body: string, contentType: string, close = false) => {
  response.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    // After a 413 the rest of the body is still on the wire: the connection cannot be reused.
    ...(close ? { connection: "close" } : {})
  })
  response.end(body)
}

/**
 * The body, up to MAX_BODY_BYTES. Past the limit (a chunked body has no Content-Length to check first) it
 * stops reading without destroying the request, so the 413 can still be written; it closes the connection.
 */
const readBody = (request: IncomingMessage, onBody: (text: string) => void, onRefused: (status: number, reason: string) => void) => {
  const chunks: Array<Buffer> = []
  let size = 0
  const stop = () => {
    request.off("data", onData).off("end", onEnd).off("error", onError)
    request.pause()
  }
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size <= MAX_BODY_BYTES) return void chunks.push(chunk)
    stop()
    onRefused(413, `body over ${MAX_BODY_BYTES} bytes`)
  }
  const onEnd = () => {
    stop()
    onBody(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"))
  }
  const onError = () => {
    stop()
    onRefused(400, "body unreadable")
  }
  request.on("data", onData).once("end", onEnd).once("error", onError)
}

const decoder = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all" })
  return (form: Form) =>
    Either.mapLeft(decode(form), (e) => {
      const reason = formatParseError(e)
      return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason
    })
}
const decodeInbound = decoder(InboundForm)
const decodeStatus = decoder(StatusForm)

export type LogLevel = "Debug" | "Warning" | "Error"

/**
 * What the routes need from the rest of the server: the writes (`Messaging.webhooks`), the health check and
 * the log. On the event loop of the database (WebhookServer.ts) or across a thread (WebhookThread.ts).
 */
export interface WebhookBackend {
  readonly inbound: (inbound: InboundMessage, done: Done<InboundOutcome>) => void
  readonly status: (update: Omit<StatusUpdate, "at">, done: Done<StatusOutcome>) => void
  /** Answers with the health check's status code and JSON body. */
  readonly health: (answer: (status: number, body: unknown) => void) => void
  readonly log: (level: LogLevel, message: string) => void
  /** Whether debug lines are logged: only then are they built, one per request. */
  readonly debug: boolean
}

/** The configuration the routes read: where Twilio signs for, with which token, for which account. */
export interface WebhookSettings {
  readonly authToken: string
  readonly webhookBaseUrl: string
  readonly accountSid: string
}

/**
 * The webhook routes as a node:http request listener. A webhook is parsed, verified and decoded
 * synchronously and its write joins the next batch commit (`Messaging.webhooks`): no fiber per request.
 * The framework's per-request cost (130–180 µs of CPU in @effect/platform's server, against 36 µs for
 * node:http) was most of a webhook's.
 */
export const makeWebhookRoutes = (options: {
  readonly settings: WebhookSettings
  readonly backend: WebhookBackend
  readonly validate: Validate
}) => {
  const { backend, settings, validate } = options
  const logDebug = (message: string) => backend.debug && backend.log("Debug", message)

  /**
   * The edge's one mapping of failures to status codes: refusals carry theirs; storage failures are 503 so
   * Twilio's own record stays the source for catch-up; nothing a client sends produces a 500.
   */
  const refuse = (response: ServerResponse, route: string, status: number, reason: string) => {
    logDebug(`${route} rejected: ${reason}`)
    reply(response, status, reason, "text/plain", status === 413)
  }
  /** Runs part of a request's handling; a throw is a bug: logged with its stack, a bare 500 for the client. */
  const guarded = (response: ServerResponse, handle: () => void) => {
    try {
      handle()
    } catch (defect) {
      // As text, with its stack: the same line whichever thread the routes run on.
      backend.log("Error", `webhook handler failed: ${defect instanceof Error ? defect.stack ?? defect.message : String(defect)}`)
      if (!response.headersSent) reply(response, 500, "internal error", "text/plain")
    }
  }
  const stored = (response: ServerResponse, route: string, what: () => string) => (error: unknown) =>
    guarded(response, () => {
      if (error === undefined) {
        logDebug(what())
        return reply(response, 200, EMPTY_TWIML, "text/xml")
      }
      backend.log("Error", `${route} failed: ${error instanceof Error ? error.message : String(error)}`)
      reply(response, 503, "temporarily unavailable", "text/plain")
    })

  /**
   * Reads the form and proves Twilio sent it: the signature is checked against the configured public URL
   * (WEBHOOK_BASE_URL + path + query), never the Host header, so it holds behind ngrok and TLS proxies.
   */
  const verified = (route: string, then: (form: Form, response: ServerResponse) => void): Route => (request, response) => {
    const contentType = request.headers["content-type"] ?? ""
    if (!contentType.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      return refuse(response, route, 415, "expected application/x-www-form-urlencoded")
    }
    if (Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
      return refuse(response, route, 413, `body over ${MAX_BODY_BYTES} bytes`)
    }
    readBody(request, (text) => guarded(response, () => {
      const form = parseForm(text)
      const url = settings.webhookBaseUrl + request.url
      const signature = request.headers["x-twilio-signature"]
      if (typeof signature !== "string" || signature === "") {
        backend.log("Warning", `webhook rejected: no X-Twilio-Signature header (url checked: ${url})`)
        return refuse(response, route, 403, "missing X-Twilio-Signature")
      }
      if (!validate(settings.authToken, signature, url, form)) {
        backend.log(
          "Warning",
          `webhook rejected: X-Twilio-Signature does not match for ${url}. ` +
            "If Twilio calls a different URL, set WEBHOOK_BASE_URL to the exact public base URL."
        )
        return refuse(response, route, 403, "invalid X-Twilio-Signature")
      }
      if (form.AccountSid !== settings.accountSid) {
        backend.log("Warning", `webhook rejected: AccountSid ${String(form.AccountSid)} is not this account`)
        return refuse(response, route, 403, "AccountSid does not match")
      }
      then(form, response)
    }), (status, reason) => refuse(response, route, status, reason))
  }

  const inbound = verified("inbound webhook", (form, response) => {
    const decoded = decodeInbound(form)
    if (Either.isLeft(decoded)) return refuse(response, "inbound webhook", 400, decoded.left)
    const fields = decoded.right
    backend.inbound({
      sid: fields.MessageSid,
      from: fields.From,
      to: fields.To,
      body: fields.Body,
      media: mediaFields(form, fields.NumMedia ?? 0),
      numSegments: fields.NumSegments,
      messagingServiceSid: fields.MessagingServiceSid,
      extra: extraFields(form)
    }, (error, outcome) =>
      stored(response, "inbound webhook", () => `inbound message ${fields.MessageSid} ${outcome?.duplicate ? "duplicate" : "stored"}`)(error))
  })

  const status = verified("status callback", (form, response) => {
    const decoded = decodeStatus(form)
    if (Either.isLeft(decoded)) return refuse(response, "status callback", 400, decoded.left)
    const fields = decoded.right
    backend.status({ sid: fields.MessageSid, status: fields.MessageStatus, errorCode: fields.ErrorCode }, (error, outcome) =>
      stored(response, "status callback", () => `status callback ${fields.MessageSid} ${fields.MessageStatus} ${JSON.stringify(outcome)}`)(error))
  })

  const health: Route = (_request, response) =>
    backend.health((status, body) => reply(response, status, JSON.stringify(body), "application/json"))

  const routes: Record<string, Record<string, Route>> = {
    [SMS_PATH]: { POST: inbound },
    [STATUS_PATH]: { POST: status },
    "/healthz": { GET: health }
  }

  return (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? "/"
    const query = url.indexOf("?")
    const route = routes[query === -1 ? url : url.slice(0, query)]?.[request.method ?? ""]
    if (route === undefined) return reply(response, 404, "not found", "text/plain")
    guarded(response, () => route(request, response))
  }
}
