import type * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import { AppConfig } from "../Config.js"
import { ping } from "../Database.js"
import { SERVER_VERSION } from "../mcp/Bridge.js"
import { Messaging } from "../Messaging.js"
import { createServer, drain, listen, type Serving } from "./Listener.js"
import { makeWebhookRoutes, type WebhookBackend } from "./WebhookRouter.js"
import { startWebhookThread } from "./WebhookThread.js"

export interface WebhookServerShape {
  /** Where it listens; none when another process already holds WEBHOOK_PORT. */
  readonly address: Option.Option<{ readonly host: string; readonly port: number }>
  /** Fails if the server stops by itself (its thread died); never completes otherwise. */
  readonly failure: Effect.Effect<never, Error>
}

/** The routes' backend on this thread: Messaging's webhook writes, the health check, the log. */
const backend = Effect.gen(function*() {
  const messaging = yield* Messaging
  const runtime = yield* Effect.runtime<SqlClient.SqlClient>()
  const run = Runtime.runFork(runtime)
  const startedAt = Date.now()
  const unavailable = { status: 503, body: { status: "unavailable", version: SERVER_VERSION, database: "unavailable" } }
  const checkHealth = Effect.matchEffect(ping, {
    // The cause goes to the log, not to whoever asks the public endpoint.
    onFailure: (e) => Effect.as(Effect.logError(`health check failed: ${e.message}`), unavailable),
    onSuccess: () =>
      Effect.sync(() => ({
        status: 200,
        body: { status: "ok", version: SERVER_VERSION, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), database: "ok" }
      }))
  })
  return {
    inbound: messaging.webhooks.inbound,
    status: messaging.webhooks.status,
    health: (answer) =>
      Runtime.runCallback(runtime)(checkHealth, {
        onExit: (exit) => {
          const { body, status } = exit._tag === "Success" ? exit.value : unavailable
          answer(status, body)
        }
      }),
    log: (level, message) => run(Effect.logWithLevel(LogLevel.fromLiteral(level), message)),
    debug: LogLevel.greaterThanEqual(LogLevel.Debug, FiberRefs.getOrDefault(runtime.fiberRefs, FiberRef.currentMinimumLogLevel))
  } satisfies WebhookBackend
})

export class WebhookServer extends Context.Tag("twilio-mcp/WebhookServer")<WebhookServer, WebhookServerShape>() {
  /**
   * Serves the webhook routes on WEBHOOK_HOST:WEBHOOK_PORT. With `portTaken: "share"` (the MCP process) a
   * port held by another process is not an error: that process receives the webhooks into the shared
   * database and this one keeps serving tools. The `webhooks` command uses "fail", and `thread`: the entry
   * of the webhook thread (WebhookThread.ts), where HTTP is served beside this thread's database writes.
   * The MCP process serves on its own event loop: one user's traffic, and no second thread's memory.
   */
  static readonly layer = (options: { readonly portTaken: "share" | "fail"; readonly thread?: URL | string | undefined }) =>
    Layer.scoped(
      WebhookServer,
      Effect.gen(function*() {
        const config = yield* AppConfig
        const routesBackend = yield* backend
        const settings = { authToken: Redacted.value(config.authToken), webhookBaseUrl: config.webhookBaseUrl, accountSid: config.accountSid }
        const died = yield* Deferred.make<never, Error>()
        const serve = (signal: AbortSignal): Promise<Serving> => {
          if (options.thread !== undefined) {
            return startWebhookThread({
              entry: options.thread,
              thread: { settings, host: config.webhookHost, port: config.webhookPort, debug: routesBackend.debug },
              backend: routesBackend,
              onDied: (error) => Deferred.unsafeDone(died, Effect.fail(error)),
              signal
            })
          }
          return import("twilio/lib/webhooks/webhooks.js").then(async ({ validateRequest }) => {
            const server = createServer(makeWebhookRoutes({ settings, backend: routesBackend, validate: validateRequest }))
            return { address: await listen(server, config.webhookPort, config.webhookHost), drain: () => drain(server) }
          })
        }
        const served = yield* Effect.tryPromise({ try: serve, catch: (error) => error as NodeJS.ErrnoException })
          .pipe(Effect.map(Option.some), Effect.catchAll((error) =>
            error.code === "EADDRINUSE" && options.portTaken === "share"
              ? Effect.succeedNone
              : Effect.fail(error.code === undefined ? error : new Error(`cannot listen on ${config.webhookHost}:${config.webhookPort}: ${error.code}`))
          ))
        if (Option.isNone(served)) {
          yield* Effect.logWarning(
            `webhook port ${config.webhookPort} is in use (another twilio-mcp process?): this process serves MCP tools only; ` +
              "webhooks go to the process that holds the port and share the same database."
          )
          return { address: Option.none(), failure: Effect.never }
        }
        const { address, drain: drainServer } = served.value
        yield* Effect.addFinalizer(() => Effect.promise(drainServer))
        yield* Effect.logInfo(`webhooks listening on http://${address.address}:${address.port}${options.thread === undefined ? "" : " (own thread)"}`)
        return { address: Option.some({ host: address.address, port: address.port }), failure: Deferred.await(died) }
      })
    )
}
