// The framework floor for the webhook figures: the least a webhook costs on the stack this server is built
// on. @effect/platform's HttpLayerRouter on NodeHttpServer, a POST route that reads the urlencoded form and
// answers empty TwiML; no signature check, no schema decoding, no database. What this server spends beyond
// it is its own work (signature, decoding, storage, logging).
//   env: PORT
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as http from "node:http"

const TWIML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"

// The form is read (and parsed) like a real handler would, then dropped.
const webhook = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => request.urlParamsBody).pipe(
  Effect.as(HttpServerResponse.text(TWIML, { contentType: "text/xml" })),
  Effect.orElseSucceed(() => HttpServerResponse.text("body unreadable", { status: 400 }))
)

const routes = HttpLayerRouter.addAll([
  HttpLayerRouter.route("POST", "/webhooks/twilio/sms", webhook),
  HttpLayerRouter.route("POST", "/webhooks/twilio/status", webhook),
  HttpLayerRouter.route("GET", "/healthz", HttpServerResponse.text("ok"))
])

// Like this server's: no per-request logger, no listen log.
HttpLayerRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provide(NodeHttpServer.layer(http.createServer, { host: "127.0.0.1", port: Number(process.env.PORT) })),
  Layer.launch,
  NodeRuntime.runMain
)
