import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { appLayer, inboundOnStart } from "./App.js"
import type { Handlers } from "./Cli.js"
import { AppConfig, type AppConfigShape } from "./config/AppConfig.js"
import { loadConfig } from "./config/LoadConfig.js"
import { loggingLayer } from "./config/Logging.js"
import type { WebhookServerOptions } from "./http/WebhookServer.js"
import { serverFactory } from "./mcp/Bridge.js"
import { sandboxTools, tools } from "./mcp/tools/index.js"
import { ConfigureWebhooks } from "./messaging/ConfigureWebhooks.js"
import { SetupCheck } from "./messaging/SetupCheck.js"
import { databaseLocation } from "./storage/Location.js"
import { Twilio } from "./twilio/Twilio.js"

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
 * The webhook server's layer, its module loaded when the layer is built: @effect/platform's HTTP server and
 * router are no part of answering an MCP client's `initialize`, which comes first (cold start).
 */
const webhookServer = <R = never, E = never>(options: WebhookServerOptions<R, E>) =>
  Layer.unwrapEffect(Effect.map(Effect.promise(() => import("./http/WebhookServer.js")), ({ WebhookServer }) => WebhookServer.layer(options)))

/**
 * MCP over stdio beside the webhook server. The MCP server answers `initialize` and `tools/list` at once;
 * the services (database, webhook server, catch-up) are built by the runtime right after, and tool calls
 * wait for them. Ends when stdin closes, draining the webhook server and closing the database.
 */
const serveMcp = (config: AppConfigShape) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ManagedRuntime.make(
          Layer.mergeAll(webhookServer({ portTaken: "share" }), inboundOnStart).pipe(
            Layer.provideMerge(appLayer(config)),
            Layer.provide(loggingLayer(config.logLevel))
          )
        )
      ),
      (runtime) => runtime.disposeEffect
    )
    const server = serverFactory(config.sandbox ? sandboxTools : tools, (effect, signal) => runtime.runPromiseExit(effect, { signal }))()
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(new StdioServerTransport())),
      () => Effect.promise(() => server.close())
    )
    yield* runtime.runtimeEffect
    yield* Effect.logInfo(`twilio-mcp ready${config.sandbox ? " (sandbox: in-memory Twilio)" : ""}; database ${databaseLocation(config)}`)
    yield* stdinClosed
    yield* Effect.logInfo("stdin closed: shutting down")
  }).pipe(Effect.scoped)

/**
 * The `webhooks` command: the HTTP server only, until SIGTERM/SIGINT, which drains it. If it cannot serve,
 * the process exits 1, for the supervisor to restart it.
 */
const serveWebhooks = (config: AppConfigShape) =>
  Effect.zipRight(
    Effect.logInfo(`twilio-mcp webhooks${config.sandbox ? " (sandbox: in-memory Twilio)" : ""}; database ${databaseLocation(config)}`),
    Layer.launch(
      Layer.mergeAll(webhookServer({ portTaken: "fail" }), inboundOnStart).pipe(Layer.provide(appLayer(config)))
    )
  )

/**
 * The `http` command: MCP over Streamable HTTP at /mcp and the webhook routes on one router and port, until
 * SIGTERM/SIGINT, which drains it; exits 1 if it cannot serve. Requires MCP_AUTH_TOKEN.
 */
const serveHttp = (config: AppConfigShape) =>
  Effect.gen(function*() {
    const { McpAuthTokenMissing, McpRoute } = yield* Effect.promise(() => import("./http/McpRoute.js"))
    const { withOAuth } = yield* Effect.promise(() => import("./http/oauth/OAuth.js"))
    if (config.mcpAuthTokens.length === 0) return yield* new McpAuthTokenMissing()
    const mcp = withOAuth(config.oauth)(McpRoute(config.sandbox ? sandboxTools : tools))
    return yield* Layer.launch(
      Layer.mergeAll(webhookServer({ portTaken: "fail", alsoServe: mcp }), inboundOnStart).pipe(
        Layer.provide(appLayer(config))
      )
    )
  })

/** `twilio-mcp check`: one line per check on stdout, exit 1 if any failed. */
const runCheck = (config: AppConfigShape) =>
  Effect.gen(function*() {
    const report = yield* Effect.flatMap(SetupCheck, (s) => s.run)
    for (const c of report.checks) yield* Effect.sync(() => process.stdout.write(`${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}\n`))
    if (!report.ok) return yield* Effect.fail(new Error("setup check failed"))
  }).pipe(Effect.provide(appLayer(config)))

/**
 * `twilio-mcp migrate-to-postgres`: the SQLite file's history into PostgreSQL, one line per table on stdout.
 * Safe to run again: what is there already is skipped.
 */
const runMigrateToPostgres = (config: AppConfigShape) =>
  Effect.gen(function*() {
    if (config.databaseUrl === undefined) {
      return yield* Effect.fail(new Error("migrate-to-postgres copies DATABASE_PATH into DATABASE_URL: set DATABASE_URL (postgres://…)"))
    }
    const { migrateToPostgres } = yield* Effect.promise(() => import("./storage/MigrateToPostgres.js"))
    const location = databaseLocation(config)
    yield* Effect.sync(() => process.stdout.write(`copying ${config.databasePath} into PostgreSQL at ${location}\n`))
    yield* migrateToPostgres(config.databasePath, config.databaseUrl, (t) =>
      Effect.sync(() => process.stdout.write(`${t.table}: ${t.read} read, ${t.inserted} new\n`)))
    yield* Effect.sync(() => process.stdout.write(`done: start the server with DATABASE_URL set to use PostgreSQL\n`))
  })

/** `twilio-mcp configure-webhooks [--dry-run]`: what was there and what is set, one line each on stdout. */
const runConfigureWebhooks = (config: AppConfigShape, dryRun: boolean) =>
  Effect.flatMap(ConfigureWebhooks, (c) => c.run({ dryRun })).pipe(
    Effect.flatMap((report) => Effect.sync(() => void process.stdout.write(report.lines.map((line) => `${line}\n`).join("")))),
    Effect.provide(ConfigureWebhooks.Default.pipe(Layer.provide(Twilio.live), Layer.provide(AppConfig.layer(config))))
  )

/** Loads the configuration (`--sandbox` or TWILIO_MCP_SANDBOX=true) and runs `program` with it, logging on stderr. */
const withConfig = <E>(flags: { readonly sandbox: boolean }, program: (config: AppConfigShape) => Effect.Effect<void, E>) =>
  Effect.flatMap(loadConfig({ sandbox: flags.sandbox }), (config) => program(config).pipe(Effect.provide(loggingLayer(config.logLevel))))

/** What each command of the command line (Cli.ts) runs. */
const handlers: Handlers = {
  serve: (flags) => withConfig(flags, serveMcp),
  webhooks: (flags) => withConfig(flags, serveWebhooks),
  http: (flags) => withConfig(flags, serveHttp),
  check: (flags) => withConfig(flags, runCheck),
  "migrate-to-postgres": (flags) => withConfig(flags, runMigrateToPostgres),
  "configure-webhooks": (flags) => withConfig(flags, (config) => runConfigureWebhooks(config, flags.dryRun)),
  revoke: (flags) => withConfig(flags, (config) => Effect.flatMap(Effect.promise(() => import("./http/oauth/Revoke.js")), ({ runRevoke }) => runRevoke(config)))
}

/**
 * Without arguments, as MCP clients start it, `serve` runs at once: the command-line parser is loaded only
 * for arguments to read.
 */
const main = (process.argv.length > 2
  ? Effect.flatMap(Effect.promise(() => import("./Cli.js")), ({ runCommandLine }) => runCommandLine(process.argv, handlers))
  : handlers.serve({ sandbox: false })).pipe(
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
