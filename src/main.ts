import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { appLayer, type AppServices } from "./AppLayer.js"
import { type AppConfigShape, loadConfig } from "./Config.js"
import { WebhookServer } from "./http/WebhookServer.js"
import { loggingLayer } from "./Logging.js"
import { makeServer, type Run } from "./mcp/Bridge.js"
import { tools } from "./mcp/tools/index.js"

const usage = `Usage: twilio-mcp [command] [--sandbox]

Commands:
  (none)     MCP server over stdio, plus the webhook server on WEBHOOK_PORT (the default)
  webhooks   only the webhook HTTP server, for systemd or pm2

Options:
  --sandbox  use an in-memory Twilio: no account needed, nothing is sent
  --help     show this help
`

/** Resolves when the MCP client closes our stdin: Claude Code ends servers that way, without a signal. */
const stdinClosed = Effect.async<void>((resume) => {
  const done = () => resume(Effect.void)
  process.stdin.once("end", done)
  process.stdin.once("close", done)
  return Effect.sync(() => {
    process.stdin.off("end", done)
    process.stdin.off("close", done)
  })
})

/**
 * MCP over stdio, answering `initialize` and `tools/list` at once while the database opens in the
 * background; tool calls wait for it. Then the webhook server, sharing the port if another process has it.
 */
const serveMcp = (config: AppConfigShape) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const services = yield* Deferred.make<Context.Context<AppServices>, unknown>()
    yield* Layer.buildWithScope(appLayer(config), scope).pipe(Effect.intoDeferred(services), Effect.forkScoped)

    const runtime = yield* Effect.runtime<never>()
    const run: Run<AppServices> = (effect, signal) =>
      Runtime.runPromiseExit(runtime)(
        Effect.flatMap(Effect.orDie(Deferred.await(services)), (context) => Effect.provide(effect, context)),
        { signal }
      )
    const server = makeServer(tools, run)
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(new StdioServerTransport())),
      () => Effect.promise(() => server.close())
    )

    const context = yield* Deferred.await(services)
    yield* Layer.buildWithScope(WebhookServer.layer({ portTaken: "share" }), scope).pipe(Effect.provide(context))
    yield* Effect.logInfo(`twilio-mcp ready${config.sandbox ? " (sandbox: in-memory Twilio)" : ""}; database ${config.databasePath}`)
    yield* stdinClosed
    yield* Effect.logInfo("stdin closed: shutting down")
  }).pipe(Effect.scoped)

const serveWebhooks = (config: AppConfigShape) =>
  Layer.launch(WebhookServer.layer({ portTaken: "fail" }).pipe(Layer.provide(appLayer(config))))

const main = Effect.gen(function*() {
  const args = process.argv.slice(2)
  if (args.includes("--help") || args.includes("-h")) {
    return yield* Effect.sync(() => process.stderr.write(usage))
  }
  const command = args.find((a) => !a.startsWith("-")) ?? "serve"
  if (command !== "serve" && command !== "webhooks") {
    return yield* Effect.fail(new Error(`Unknown command "${command}".\n\n${usage}`))
  }
  const config = yield* loadConfig({ sandbox: args.includes("--sandbox") })
  const program = command === "webhooks" ? serveWebhooks(config) : serveMcp(config)
  return yield* program.pipe(Effect.provide(loggingLayer(config.logLevel)))
}).pipe(
  // One readable message on stderr and exit code 1, not a stack trace: this is what users see when
  // their configuration or database path is wrong.
  Effect.tapErrorCause((cause) =>
    Cause.isInterruptedOnly(cause) ? Effect.void : Effect.sync(() => {
      const error = Cause.squash(cause)
      process.stderr.write(`twilio-mcp: ${error instanceof Error ? error.message : String(error)}\n`)
    })
  )
)

NodeRuntime.runMain(main, { disableErrorReporting: true })
