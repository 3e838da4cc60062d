import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as http from "node:http"
import { AppConfig } from "../Config.js"
import { makeRouter } from "./WebhookRouter.js"

/** How long in-flight webhooks get to finish on shutdown before their connections are cut. */
export const DRAIN_TIMEOUT_MS = 10_000

export interface WebhookServerShape {
  /** Where it listens; none when another process already holds WEBHOOK_PORT. */
  readonly address: Option.Option<{ readonly host: string; readonly port: number }>
}

export class WebhookServer extends Context.Tag("twilio-mcp/WebhookServer")<WebhookServer, WebhookServerShape>() {
  /**
   * Serves the webhook routes on WEBHOOK_HOST:WEBHOOK_PORT. With `portTaken: "share"` (the MCP process) a
   * port held by another process is not an error: that process receives the webhooks into the shared
   * database and this one keeps serving tools. The `webhooks` command uses "fail".
   */
  static readonly layer = (options: { readonly portTaken: "share" | "fail" }) =>
    Layer.scoped(
      WebhookServer,
      Effect.gen(function*() {
        const config = yield* AppConfig
        // The signature check is the only part of the Twilio SDK a webhook needs: load just that module.
        const { validateRequest } = yield* Effect.promise(() => import("twilio/lib/webhooks/webhooks.js"))
        const server = http.createServer({ requestTimeout: 15_000, headersTimeout: 10_000 })
        const started = yield* NodeHttpServer.make(() => server, { port: config.webhookPort, host: config.webhookHost }).pipe(
          Effect.map(Option.some),
          Effect.catchTag("ServeError", (error) => {
            const code = (error.cause as NodeJS.ErrnoException | undefined)?.code
            if (code !== "EADDRINUSE" || options.portTaken === "fail") {
              return Effect.fail(new Error(`cannot listen on ${config.webhookHost}:${config.webhookPort}: ${code ?? String(error.cause)}`))
            }
            return Effect.as(
              Effect.logWarning(
                `webhook port ${config.webhookPort} is in use (another twilio-mcp process?): this process serves MCP tools only; ` +
                  "webhooks go to the process that holds the port and share the same database."
              ),
              Option.none()
            )
          })
        )
        if (Option.isNone(started)) return { address: Option.none() }
        // No tracing spans for requests and their SQL: nothing here exports spans, and making them (URL,
        // headers, one per statement) was a measurable share of a webhook's CPU time.
        yield* started.value.serve(makeRouter(validateRequest)).pipe(
          Effect.locally(HttpMiddleware.currentTracerDisabledWhen, () => true),
          Effect.withTracerEnabled(false)
        )
        // Registered after `serve`, so it runs before serve's own finalizer, which detaches the request
        // handler: stop accepting, let in-flight requests finish (including ones on connections accepted
        // but not yet read, which need the handler), and cut what remains after the drain timeout.
        yield* Effect.addFinalizer(() =>
          Effect.async<void>((resume) => {
            const timer = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS)
            server.close(() => {
              clearTimeout(timer)
              resume(Effect.void)
            })
            server.closeIdleConnections()
          })
        )
        const address = started.value.address as HttpServer.TcpAddress
        yield* Effect.logInfo(`webhooks listening on http://${address.hostname}:${address.port}`)
        return { address: Option.some({ host: address.hostname, port: address.port }) }
      })
    )
}
