import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { appLayer, type AppServices } from "./AppLayer.js"
import { CatchUp } from "./CatchUp.js"
import { type AppConfigShape, loadConfig } from "./Config.js"
import { WebhookServer } from "./http/WebhookServer.js"
import { loggingLayer } from "./Logging.js"
import { SetupCheck } from "./SetupCheck.js"
import { makeServer, type Run } from "./mcp/Bridge.js"
import type { Progress } from "./mcp/Progress.js"
import { sandboxTools, tools } from "./mcp/tools/index.js"

const usage = `Usage: twilio-mcp [command] [--sandbox]

Commands:
  (none)     MCP server over stdio, plus the webhook server on WEBHOOK_PORT (the default)
  webhooks   only the webhook HTTP server, for systemd or pm2
  check      check the setup (credentials, inbound webhook URL, database, port) without sending anything

Options:
  --sandbox  use an in-memory Twilio: no account needed, nothing is sent
  --help     show this help
`

/** Resolves when the MCP client closes our stdin: Claude Code ends servers that way, without a signal. */
const stdinClosed = Effect.async<void>((resume) => {
  // It may have ended already, while the database and webhook server were starting.
  if (process.stdin.readableEnded || process.stdin.destroyed) return resume(Effect.void)
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
    const run: Run<AppServices | Progress> = (effect, signal) =>
      Runtime.runPromiseExit(runtime)(
        Effect.flatMap(Effect.orDie(Deferred.await(services)), (context) => Effect.provide(effect, context)),
        { signal }
      )
    const server = makeServer(config.sandbox ? sandboxTools : tools, run)
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(new StdioServerTransport())),
      () => Effect.promise(() => server.close())
    )

    const context = yield* Deferred.await(services)
    yield* Layer.buildWithScope(WebhookServer.layer({ portTaken: "share" }), scope).pipe(Effect.provide(context))
    yield* Effect.logInfo(`twilio-mcp ready${config.sandbox ? " (sandbox: in-memory Twilio)" : ""}; database ${config.databasePath}`)
    if (!config.sandbox) yield* Effect.forkScoped(catchUp.pipe(Effect.provide(context)))
    yield* stdinClosed
    yield* Effect.logInfo("stdin closed: shutting down")
  }).pipe(Effect.scoped)

/** Messages and statuses that arrived while no webhook server was reachable; a failure is only logged. */
const catchUp = Effect.flatMap(CatchUp, (c) => c.sync(24)).pipe(
  Effect.tap((r) => Effect.logInfo(`catch-up: ${r.inboundStored} missed inbound stored, ${r.statusesAdvanced} statuses advanced`)),
  Effect.catchAll((e) => Effect.logWarning(`catch-up with Twilio failed: ${e.message}`))
)

/** `twilio-mcp check`: one line per check on stdout, exit 1 if any failed. */
const runCheck = (config: AppConfigShape) =>
  Effect.gen(function*() {
    const report = yield* Effect.flatMap(SetupCheck, (s) => s.run)
    for (const c of report.checks) yield* Effect.sync(() => process.stdout.write(`${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}\n`))
    if (!report.ok) return yield* Effect.fail(new Error("setup check failed"))
  }).pipe(Effect.provide(appLayer(config)))

/**
 * The bundle's webhook thread, next to this file in dist/. Run from source (tsx) there is no bundle: the
 * webhooks are then served on the event loop, as in the MCP process.
 */
const WEBHOOK_THREAD = import.meta.url.endsWith(".js") ? new URL("./webhook-thread.js", import.meta.url) : undefined

/**
 * The `webhooks` command: the HTTP server only, until SIGTERM/SIGINT, which drains it. HTTP is served on a
 * thread of its own; if that thread dies the process exits 1, for the supervisor to restart it.
 */
const serveWebhooks = (config: AppConfigShape) =>
  Effect.gen(function*() {
    const server = yield* WebhookServer
    if (!config.sandbox) yield* Effect.forkScoped(catchUp)
    return yield* server.failure
  }).pipe(
    Effect.provide(WebhookServer.layer({ portTaken: "fail", thread: WEBHOOK_THREAD }).pipe(Layer.provideMerge(appLayer(config)))),
    Effect.scoped
  )

const main = Effect.gen(function*() {
  const args = process.argv.slice(2)
  if (args.includes("--help") || args.includes("-h")) {
    return yield* Effect.sync(() => process.stderr.write(usage))
  }
  const command = args.find((a) => !a.startsWith("-")) ?? "serve"
  if (command !== "serve" && command !== "webhooks" && command !== "check") {
    return yield* Effect.fail(new Error(`Unknown command "${command}".\n\n${usage}`))
  }
  const config = yield* loadConfig({ sandbox: args.includes("--sandbox") })
  const program = command === "webhooks" ? serveWebhooks(config) : command === "check" ? runCheck(config) : serveMcp(config)
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

// The pretty logger writes to stdout, the MCP channel: logging is set up in Logging.ts, on stderr.
NodeRuntime.runMain(main, { disableErrorReporting: true, disablePrettyLogger: true })
