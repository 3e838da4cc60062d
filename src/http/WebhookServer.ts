import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as http from "node:http"
import { AppConfig } from "../config/AppConfig.js"
import { RefuseRepeatedHeaders } from "./RepeatedHeaders.js"
import { WebhookRoutesLive } from "./WebhookRoutes.js"

/** How long in-flight webhooks get to finish on shutdown before their connections are cut. */
export const DRAIN_TIMEOUT = Duration.seconds(10)

/** The server could not listen on WEBHOOK_HOST:WEBHOOK_PORT; `code` is Node's (EADDRINUSE, EACCES…). */
export class CannotListen extends Schema.TaggedError<CannotListen>()("CannotListen", {
  host: Schema.String,
  port: Schema.Number,
  code: Schema.String
}) {
  override get message() {
    return `cannot listen on ${this.host}:${this.port}: ${this.code}`
  }
}

/**
 * Node's server under the platform's: its timeouts, and the drain on shutdown, are set on it directly.
 * `open` lets requests through to the routes.
 */
class NodeServer extends Context.Tag("twilio-mcp/NodeServer")<NodeServer, { readonly server: http.Server; readonly open: () => void }>() {}

/**
 * Twilio gives up on a webhook after 15 s. Node checks these timeouts every `connectionsCheckingInterval`
 * (30 s by default, so a 10 s bound fired after up to 40 s): every second here.
 *
 * The platform listens as its server layer is built and hooks the routes in later; a request arriving in
 * between (a restart under load) would find no listener and hang. Until `open`, requests are held, then
 * handed to the routes.
 */
const nodeServer = Layer.sync(NodeServer, () => {
  const server = http.createServer({ requestTimeout: 15_000, headersTimeout: 10_000, connectionsCheckingInterval: 1_000 })
  const held: Array<readonly [http.IncomingMessage, http.ServerResponse]> = []
  const hold = (request: http.IncomingMessage, response: http.ServerResponse) => void held.push([request, response])
  server.on("request", hold)
  const open = () => {
    server.off("request", hold)
    for (const [request, response] of held.splice(0)) server.emit("request", request, response)
  }
  return { server, open }
})

/**
 * Shutdown: stop accepting, let in-flight requests finish (connections that turn idle are closed as they
 * do), and cut what remains after DRAIN_TIMEOUT. Added after the routes are served, so it runs before the
 * platform unhooks them: requests in flight are still answered.
 */
const drainOnShutdown = Layer.scopedDiscard(Effect.flatMap(NodeServer, ({ server }) =>
  Effect.addFinalizer(() =>
    Effect.async<void>((resume) => {
      if (!server.listening) return resume(Effect.void)
      const idle = setInterval(() => server.closeIdleConnections(), 50)
      const cut = setTimeout(() => server.closeAllConnections(), Duration.toMillis(DRAIN_TIMEOUT))
      server.close(() => {
        clearInterval(idle)
        clearTimeout(cut)
        resume(Effect.void)
      })
      server.closeIdleConnections()
    })
  )))

const listening = Layer.unwrapEffect(Effect.gen(function*() {
  const { server } = yield* NodeServer
  const { webhookHost: host, webhookPort: port } = yield* AppConfig
  return NodeHttpServer.layer(() => server, { host, port }).pipe(
    Layer.catchAll((e) => {
      const code = (e.cause as NodeJS.ErrnoException | undefined)?.code
      return Layer.fail(new CannotListen({ host, port, code: code ?? String(e.cause) }))
    })
  )
}))

export interface WebhookServerShape {
  /** Where it listens; none when another process already holds WEBHOOK_PORT. */
  readonly address: Option.Option<{ readonly host: string; readonly port: number }>
}

export interface WebhookServerOptions<R = never, E = never> {
  readonly portTaken: "share" | "fail"
  readonly alsoServe?: Layer.Layer<never, E, R>
}

export class WebhookServer extends Context.Tag("twilio-mcp/WebhookServer")<WebhookServer, WebhookServerShape>() {
  /**
   * The webhook routes served on WEBHOOK_HOST:WEBHOOK_PORT by @effect/platform's HTTP server. With
   * `portTaken: "share"` (the MCP process) a port held by another process is not an error: that process
   * receives the webhooks into the shared database and this one keeps serving tools. The `webhooks` command
   * uses "fail": its supervisor should hear about it. `alsoServe` adds routes on the same router and port
   * (the `http` command's /mcp).
   */
  static readonly layer = <R = never, E = never>(options: WebhookServerOptions<R, E>) => {
    // Built once the routes are hooked in.
    const ready = Layer.effect(
      WebhookServer,
      Effect.gen(function*() {
        const server = yield* HttpServer.HttpServer
        ;(yield* NodeServer).open()
        const where = server.address._tag === "TcpAddress" ? server.address : { hostname: "unix", port: 0 }
        yield* Effect.logInfo(`webhooks listening on http://${where.hostname}:${where.port}`)
        return { address: Option.some({ host: where.hostname, port: where.port }) }
      })
    )
    const routes = Layer.mergeAll(WebhookRoutesLive, RefuseRepeatedHeaders, options.alsoServe ?? Layer.empty)
    const served = HttpLayerRouter.serve(routes, {
      disableLogger: true,
      disableListenLog: true,
      // The documented paths exactly: find-my-way's defaults also match other cases and extra slashes.
      routerConfig: { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false }
    })
    return Layer.provide(ready, Layer.provide(drainOnShutdown, served)).pipe(
      Layer.provide(listening),
      Layer.provide(nodeServer),
      Layer.catchAll((error) =>
        error instanceof CannotListen && error.code === "EADDRINUSE" && options.portTaken === "share"
          ? Layer.effect(
            WebhookServer,
            Effect.as(
              Effect.logWarning(
                `webhook port ${error.port} is in use (another twilio-mcp process?): this process serves MCP tools only; ` +
                  "webhooks go to the process that holds the port and share the same database."
              ),
              { address: Option.none() }
            )
          )
          : Layer.fail(error)
      )
    )
  }
}
