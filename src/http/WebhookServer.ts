import type * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { AppConfig } from "../Config.js"
import { Messaging } from "../Messaging.js"
import { makeWebhookRoutes } from "./WebhookRouter.js"

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
        const routes = makeWebhookRoutes({
          config,
          messaging: yield* Messaging,
          validate: validateRequest,
          runtime: yield* Effect.runtime<SqlClient.SqlClient>()
        })
        const server = http.createServer({ requestTimeout: 15_000, headersTimeout: 10_000 }, routes)
        const listening = yield* Effect.async<boolean, Error>((resume) => {
          const onError = (error: NodeJS.ErrnoException) => {
            server.off("listening", onListening)
            if (error.code === "EADDRINUSE" && options.portTaken === "share") return resume(Effect.succeed(false))
            resume(Effect.fail(new Error(`cannot listen on ${config.webhookHost}:${config.webhookPort}: ${error.code ?? error.message}`)))
          }
          const onListening = () => {
            server.off("error", onError)
            resume(Effect.succeed(true))
          }
          server.once("error", onError).once("listening", onListening).listen(config.webhookPort, config.webhookHost)
        })
        if (!listening) {
          yield* Effect.logWarning(
            `webhook port ${config.webhookPort} is in use (another twilio-mcp process?): this process serves MCP tools only; ` +
              "webhooks go to the process that holds the port and share the same database."
          )
          return { address: Option.none() }
        }
        // Shutdown: stop accepting, let in-flight requests finish (including ones on connections accepted
        // but not yet read), and cut what remains after the drain timeout.
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
        const address = server.address() as AddressInfo
        yield* Effect.logInfo(`webhooks listening on http://${address.address}:${address.port}`)
        return { address: Option.some({ host: address.address, port: address.port }) }
      })
    )
}
