import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AppConfig } from "../config/AppConfig.js"
import { StorageError } from "../domain/Errors.js"
import { formatParseError } from "../domain/ParseErrors.js"
import { clip, withoutCredentials } from "../domain/Text.js"
import { nowIso } from "../domain/Time.js"
import { SMS_PATH, STATUS_PATH } from "../domain/WebhookPaths.js"
import { Ingest } from "../messaging/Ingest.js"
import { Database } from "../storage/Database.js"
import { SERVER_VERSION } from "../config/Version.js"
import { extraFields, type Form, formOf, InboundForm, mediaFields, StatusForm } from "./WebhookForms.js"
import { RejectionLog } from "./RejectionLog.js"

/** Twilio's bodies are a few KB at most (1600-character body, 10 media URLs, geo fields). */
export const MAX_BODY_BYTES = 64 * 1024

/** Answered to every accepted webhook: Twilio logs an error for an empty body. */
const EMPTY_TWIML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"

/** A 400's reason quotes the offending values: kept short, whatever size they were (up to 64 KiB). */
const MAX_REASON_LENGTH = 500

/** A webhook refused before anything is stored: the status and the short text the client gets. */
export class WebhookRejected extends Schema.TaggedError<WebhookRejected>()("WebhookRejected", {
  status: Schema.Number,
  reason: Schema.String
}) {}

/**
 * The edge's one mapping of failures to responses: refusals carry their status; a storage failure is 503,
 * so Twilio's own record stays the source for catch-up. Nothing a client sends produces a 500.
 */
const respond = <R>(route: string, effect: Effect.Effect<HttpServerResponse.HttpServerResponse, WebhookRejected | StorageError, R>) =>
  effect.pipe(
    Effect.catchTags({
      WebhookRejected: (e) =>
        Effect.as(
          Effect.logDebug(`${route} rejected: ${e.reason}`),
          HttpServerResponse.text(e.reason, {
            status: e.status,
            // After a 413 the rest of the body is still on the wire: the connection cannot be reused.
            ...(e.status === 413 ? { headers: { connection: "close" } } : {})
          })
        ),
      StorageError: (e) => Effect.as(Effect.logError(`${route} failed: ${e.message}`), HttpServerResponse.text("temporarily unavailable", { status: 503 }))
    })
  )

/** The media type without parameters (a charset is fine), compared exactly. */
const isForm = (contentType: string | undefined) =>
  (contentType ?? "").split(";")[0]!.trim().toLowerCase() === "application/x-www-form-urlencoded"

const decoder = <A, I>(schema: Schema.Schema<A, I>) => {
  // Synchronous: every webhook is decoded, and an Either costs no fiber steps.
  const decode = Schema.decodeUnknownEither(schema, { errors: "all" })
  return (form: Form) =>
    Either.mapLeft(decode(form), (e) => new WebhookRejected({ status: 400, reason: clip(formatParseError(e), MAX_REASON_LENGTH) }))
}
const decodeInbound = decoder(InboundForm)
const decodeStatus = decoder(StatusForm)

const twiml = HttpServerResponse.text(EMPTY_TWIML, { contentType: "text/xml" })

/**
 * The webhook routes on @effect/platform's router: POST /webhooks/twilio/sms (or GET, which Twilio can be set
 * to use), POST /webhooks/twilio/status, GET /healthz; any other method on those paths is 405 with Allow.
 */
export const WebhookRoutes = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    const ingest = yield* Ingest
    const database = yield* Database
    const rejections = yield* RejectionLog
    // The signature check is the only part of the Twilio SDK a webhook needs: that module alone (~15 ms).
    const { validateRequest } = yield* Effect.promise(() => import("twilio/lib/webhooks/webhooks.js"))
    const authToken = Redacted.value(config.authToken)
    const signingBase = Redacted.value(config.webhookSigningBaseUrl)
    const startedAt = Date.now()

    const refuse = (status: number, reason: string) => new WebhookRejected({ status, reason })

    /**
     * The form, proven to come from Twilio: the signature is checked against the configured public URL
     * (WEBHOOK_BASE_URL + path + query), never the Host header, so it holds behind ngrok and TLS proxies. A
     * GET's parameters are its query, which the signed URL covers; a POST's are its body.
     */
    const verifiedForm = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      let form: Form
      if (request.method !== "POST") {
        form = formOf(new URL(request.url, "http://x").searchParams)
      } else {
        if (!isForm(request.headers["content-type"])) return yield* refuse(415, "expected application/x-www-form-urlencoded")
        if (Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES) return yield* refuse(413, `body over ${MAX_BODY_BYTES} bytes`)
        const text = yield* request.text.pipe(Effect.mapError(() => refuse(400, "body unreadable")))
        form = formOf(new URLSearchParams(text))
      }
      const url = signingBase + request.url
      const shown = () => clip(withoutCredentials(config.webhookBaseUrl + request.url))
      const signature = request.headers["x-twilio-signature"]
      if (signature === undefined || signature === "") {
        yield* rejections.warn("no X-Twilio-Signature header", `Invalid webhook signature: no X-Twilio-Signature header (url checked: ${shown()})`)
        return yield* refuse(403, "Invalid webhook signature: missing X-Twilio-Signature")
      }
      const params = request.method === "POST" ? form : {}
      if (!validateRequest(authToken, signature, url, params as Record<string, string>)) {
        yield* rejections.warn(
          "X-Twilio-Signature does not match",
          `Invalid webhook signature: X-Twilio-Signature does not match for ${shown()}. ` +
            "If Twilio calls a different URL, set WEBHOOK_BASE_URL to the exact public base URL."
        )
        return yield* refuse(403, "Invalid webhook signature")
      }
      if (form.AccountSid !== config.accountSid) {
        yield* rejections.warn("AccountSid is not this account", `Webhook rejected: AccountSid ${clip(String(form.AccountSid))} is not this account`)
        return yield* refuse(403, "AccountSid does not match")
      }
      return form
    }).pipe(HttpIncomingMessage.withMaxBodySize(Option.some(MAX_BODY_BYTES)))

    const inbound = respond(
      "inbound webhook",
      Effect.gen(function*() {
        const form = yield* verifiedForm
        const fields = yield* decodeInbound(form)
        const outcome = yield* ingest.inbound({
          sid: fields.MessageSid,
          from: fields.From,
          to: fields.To,
          body: fields.Body,
          media: mediaFields(form, fields.NumMedia ?? 0),
          numSegments: fields.NumSegments,
          messagingServiceSid: fields.MessagingServiceSid,
          extra: extraFields(form)
        })
        yield* Effect.logDebug(`inbound message ${fields.MessageSid} ${outcome.duplicate ? "duplicate" : "stored"}`)
        return twiml
      })
    )

    const status = respond(
      "status callback",
      Effect.gen(function*() {
        const fields = yield* Effect.flatMap(verifiedForm, decodeStatus)
        const outcome = yield* ingest.status({
          sid: fields.MessageSid,
          status: fields.MessageStatus,
          errorCode: fields.ErrorCode ?? undefined,
          errorMessage: fields.ErrorMessage === "" ? undefined : fields.ErrorMessage,
          at: yield* nowIso
        })
        yield* Effect.logDebug(`status callback ${fields.MessageSid} ${fields.MessageStatus} ${JSON.stringify(outcome)}`)
        return twiml
      })
    )

    // Which database and how far migrated (a replica running older code shows here), never where or as whom.
    const health = Effect.zipRight(database.ping, database.describe).pipe(
      Effect.map((d) =>
        HttpServerResponse.unsafeJson({
          status: "ok",
          version: SERVER_VERSION,
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          database: "ok",
          storage: { engine: d.engine, version: d.version, migration: d.migration }
        })
      ),
      // The cause goes to the log, not to whoever asks the public endpoint.
      Effect.catchAll((e) =>
        Effect.as(
          Effect.logError(`health check failed: ${e.message}`),
          HttpServerResponse.unsafeJson({ status: "unavailable", version: SERVER_VERSION, database: "unavailable" }, { status: 503 })
        )
      )
    )

    type Handler = Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
    const routes: ReadonlyArray<readonly [path: `/${string}`, handlers: Partial<Record<"GET" | "POST", Handler>>]> = [
      [SMS_PATH, { POST: inbound, GET: inbound }],
      [STATUS_PATH, { POST: status }],
      ["/healthz", { GET: health }]
    ]
    const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const
    for (const [path, handlers] of routes) {
      const allowed = Object.keys(handlers).flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ")
      const notAllowed = HttpServerResponse.text("method not allowed", { status: 405, headers: { allow: allowed } })
      for (const method of methods) {
        yield* router.add(method, path, handlers[method as "GET" | "POST"] ?? notAllowed)
      }
    }
  })
)

/** The routes with what they need besides the app's services. */
export const WebhookRoutesLive = WebhookRoutes.pipe(Layer.provide(RejectionLog.Default))
