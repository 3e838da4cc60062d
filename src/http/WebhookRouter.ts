import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { IncomingMessage } from "node:http"
import { AppConfig } from "../Config.js"
import { ping } from "../Database.js"
import type { StorageError } from "../domain/Errors.js"
import { nowIso } from "../domain/Time.js"
import { formatParseError, SERVER_VERSION } from "../mcp/Bridge.js"
import { Messaging, SMS_PATH, STATUS_PATH } from "../Messaging.js"
import { extraFields, type Form, InboundForm, mediaFields, parseForm, StatusForm } from "./Forms.js"

/** Twilio's bodies are a few KB at most (1600-character body, 10 media URLs, geo fields). */
export const MAX_BODY_BYTES = 64 * 1024

/** Answered to every accepted webhook: Twilio logs an error for an empty body. */
const EMPTY_TWIML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"

class Rejected extends Data.TaggedError("Rejected")<{ readonly status: number; readonly reason: string }> {}

/**
 * The body, up to MAX_BODY_BYTES. Past the limit (a chunked body has no Content-Length to check first) it
 * stops reading without destroying the request: `request.text` with `withMaxBodySize` destroys it, which
 * cuts the socket before the 413 can be written. The 413 closes the connection instead.
 */
const readBody = (incoming: IncomingMessage) =>
  Effect.async<string, Rejected>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const stop = () => {
      incoming.off("data", onData).off("end", onEnd).off("error", onError)
      incoming.pause()
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk)
      stop()
      resume(Effect.fail(new Rejected({ status: 413, reason: `body over ${MAX_BODY_BYTES} bytes` })))
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    }
    const onError = () => {
      stop()
      resume(Effect.fail(new Rejected({ status: 400, reason: "body unreadable" })))
    }
    if (incoming.readableEnded) return resume(Effect.fail(new Rejected({ status: 400, reason: "body already read" })))
    incoming.on("data", onData).once("end", onEnd).once("error", onError)
    return Effect.sync(stop)
  })

type Validate = (authToken: string, signature: string, url: string, params: Form) => boolean

/**
 * Reads the form and proves Twilio sent it: the signature is checked against the configured public URL
 * (WEBHOOK_BASE_URL + path + query), never the Host header, so it holds behind ngrok and TLS proxies.
 */
const verifiedForm = (validate: Validate) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    const request = yield* HttpServerRequest.HttpServerRequest
    const contentType = request.headers["content-type"] ?? ""
    if (!contentType.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      return yield* new Rejected({ status: 415, reason: "expected application/x-www-form-urlencoded" })
    }
    if (Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
      return yield* new Rejected({ status: 413, reason: `body over ${MAX_BODY_BYTES} bytes` })
    }
    const text = yield* readBody(NodeHttpServerRequest.toIncomingMessage(request))
    const form = parseForm(text)
    const url = config.webhookBaseUrl + request.url
    const signature = request.headers["x-twilio-signature"]
    if (signature === undefined || signature === "") {
      yield* Effect.logWarning(`webhook rejected: no X-Twilio-Signature header (url checked: ${url})`)
      return yield* new Rejected({ status: 403, reason: "missing X-Twilio-Signature" })
    }
    if (!validate(Redacted.value(config.authToken), signature, url, form)) {
      yield* Effect.logWarning(
        `webhook rejected: X-Twilio-Signature does not match for ${url}. ` +
          "If Twilio calls a different URL, set WEBHOOK_BASE_URL to the exact public base URL."
      )
      return yield* new Rejected({ status: 403, reason: "invalid X-Twilio-Signature" })
    }
    if (form.AccountSid !== config.accountSid) {
      yield* Effect.logWarning(`webhook rejected: AccountSid ${String(form.AccountSid)} is not this account`)
      return yield* new Rejected({ status: 403, reason: "AccountSid does not match" })
    }
    return form
  })

/** A 400's reason quotes the offending values: kept short, whatever size they were (up to 64 KiB). */
const MAX_REASON_LENGTH = 500

const decode = <A, I>(schema: Schema.Schema<A, I>, form: Form) =>
  Schema.decodeUnknown(schema, { errors: "all" })(form).pipe(
    Effect.mapError((e: ParseResult.ParseError) => {
      const reason = formatParseError(e)
      return new Rejected({ status: 400, reason: reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason })
    })
  )

const twiml = HttpServerResponse.text(EMPTY_TWIML, { contentType: "text/xml" })

/**
 * The edge's one mapping of failures to status codes: rejections keep theirs; storage failures are 503 so
 * Twilio's own record stays the source for catch-up; nothing a client sends produces a 500.
 */
const respond = <R>(
  route: string,
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, Rejected | StorageError, R>
) =>
  handler.pipe(
    Effect.catchTags({
      Rejected: (e) =>
        Effect.as(
          Effect.logDebug(`${route} rejected: ${e.reason}`),
          // After a 413 the rest of the body is still on the wire: the connection cannot be reused.
          HttpServerResponse.text(e.reason, { status: e.status, headers: e.status === 413 ? { connection: "close" } : {} })
        ),
      StorageError: (e) =>
        Effect.as(
          Effect.logError(`${route} failed: ${e.message}`),
          HttpServerResponse.text("temporarily unavailable", { status: 503 })
        )
    })
  )

export const makeRouter = (validate: Validate) => {
  const startedAt = Date.now()
  return HttpRouter.empty.pipe(
    HttpRouter.post(
      SMS_PATH,
      respond(
        "inbound webhook",
        Effect.gen(function*() {
          const form = yield* verifiedForm(validate)
          const fields = yield* decode(InboundForm, form)
          const messaging = yield* Messaging
          const result = yield* messaging.recordInbound({
            sid: fields.MessageSid,
            from: fields.From,
            to: fields.To,
            body: fields.Body,
            media: mediaFields(form, fields.NumMedia ?? 0),
            numSegments: fields.NumSegments,
            messagingServiceSid: fields.MessagingServiceSid,
            extra: extraFields(form)
          })
          yield* Effect.logDebug("inbound message", fields.MessageSid, result.duplicate ? "duplicate" : "stored")
          return twiml
        })
      )
    ),
    HttpRouter.post(
      STATUS_PATH,
      respond(
        "status callback",
        Effect.gen(function*() {
          const fields = yield* Effect.flatMap(verifiedForm(validate), (form) => decode(StatusForm, form))
          const messaging = yield* Messaging
          const outcome = yield* messaging.applyStatus({
            sid: fields.MessageSid,
            status: fields.MessageStatus,
            errorCode: fields.ErrorCode,
            at: yield* nowIso
          })
          yield* Effect.logDebug("status callback", fields.MessageSid, fields.MessageStatus, outcome)
          return twiml
        })
      )
    ),
    HttpRouter.get(
      "/healthz",
      Effect.matchEffect(ping, {
        // The cause goes to the log, not to whoever asks the public endpoint.
        onFailure: (e) =>
          Effect.as(
            Effect.logError(`health check failed: ${e.message}`),
            HttpServerResponse.unsafeJson({ status: "unavailable", version: SERVER_VERSION, database: "unavailable" }, { status: 503 })
          ),
        onSuccess: () =>
          Effect.succeed(HttpServerResponse.unsafeJson({
            status: "ok",
            version: SERVER_VERSION,
            uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
            database: "ok"
          }))
      })
    )
  )
}
