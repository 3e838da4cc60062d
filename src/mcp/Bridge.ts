import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { SERVER_VERSION } from "../config/Version.js"
import { formatParseError } from "../domain/ParseErrors.js"
import { toolJsonSchema } from "./JsonSchema.js"
import { Progress } from "./Progress.js"
import type { Tool } from "./Tool.js"

const SERVER_NAME = "twilio-mcp"

const failure = (text: string): CallToolResult => ({ isError: true, content: [{ type: "text", text }] })

/** The `tools/list` entries: the schemas are computed once. */
export const listTools = (tools: ReadonlyArray<Tool<any>>) =>
  tools.map((tool) => ({
    name: tool.name,
    description: tool.description,
    inputSchema: toolJsonSchema(tool.input, "input") as { type: "object" },
    outputSchema: toolJsonSchema(tool.output, "output") as { type: "object" },
    annotations: hints(tool.annotations)
  }))

/** Only the hints that differ from MCP's defaults (readOnly false, destructive true, idempotent false, openWorld true). */
const hints = (a: Tool<never>["annotations"]) => ({
  ...(a.readOnlyHint ? { readOnlyHint: true } : { destructiveHint: a.destructiveHint }),
  ...(a.idempotentHint && !a.readOnlyHint ? { idempotentHint: true } : {}),
  ...(a.openWorldHint ? {} : { openWorldHint: false })
})

/**
 * Runs one `tools/call`: decode, handle, encode. Every expected failure and every bad argument becomes an
 * `isError` result; a defect is logged to stderr and reported without internals.
 */
export const callTool = <R>(tools: ReadonlyArray<Tool<R>>, name: string, args: unknown, progress = Progress.none) => {
  const tool = tools.find((t) => t.name === name)
  if (tool === undefined) {
    return Effect.succeed(failure(`Unknown tool "${name}". Available tools: ${tools.map((t) => t.name).join(", ")}.`))
  }
  return Schema.decodeUnknown(tool.input, { errors: "all", onExcessProperty: "error" })(args ?? {}).pipe(
    Effect.mapError((e) => ({ _tag: "InvalidArguments", message: `Invalid arguments for ${name}: ${formatParseError(e)}` })),
    Effect.flatMap(tool.handler),
    Effect.flatMap((result) => Effect.orDie(Schema.encode(tool.output)(result))),
    Effect.map((structured): CallToolResult => ({
      content: [{ type: "text", text: JSON.stringify(structured) }],
      structuredContent: structured as Record<string, unknown>
    })),
    Effect.catchAll((e) => Effect.succeed(failure(e.message))),
    Effect.catchAllDefect((defect) =>
      Effect.as(
        Effect.logError(`tool ${name} failed`, Cause.die(defect)),
        failure(`Internal error in ${name}; details are in the server log. The request may be retried.`)
      )
    ),
    Effect.provideService(Progress, progress),
    Effect.withLogSpan(`tool.${name}`)
  )
}

/**
 * Runs an effect for one request; `signal` aborts it when the client cancels. It fails only when the
 * services it runs on could not be built (the server is then stopping).
 */
export type Run<R> = <A>(effect: Effect.Effect<A, never, Exclude<R, Progress>>, signal: AbortSignal) => Promise<Exit.Exit<A, unknown>>

/**
 * Makes low-level MCP servers (the SDK's `McpServer` only takes zod schemas) answering `tools/list` and
 * `tools/call` from a list of tools, whatever the transport: stdio connects one, Streamable HTTP one per
 * request. The listing is computed once, here. With the `logging` capability the SDK's Server answers
 * `logging/setLevel` itself; the server's own log goes to stderr, so it sends no log notifications.
 */
export const serverFactory = <R>(tools: ReadonlyArray<Tool<R>>, run: Run<R>) => {
  const listed = listTools(tools)
  return () => {
    const server = new Server(
      { name: SERVER_NAME, version: SERVER_VERSION },
      { capabilities: { tools: {}, logging: {} } }
    )
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listed }))
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const token = request.params._meta?.progressToken
      const progress = token === undefined ? Progress.none : Progress.of({
        report: (progress, total, message) =>
          Effect.ignore(Effect.tryPromise(() =>
            extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress, total, message } })
          ))
      })
      const exit = await run(callTool(tools, request.params.name, request.params.arguments, progress), extra.signal)
      return Exit.getOrElse(exit, (cause) =>
        Cause.isInterruptedOnly(cause)
          ? failure("The tool call was cancelled.")
          : failure(`The server could not start: ${Cause.squash(cause) instanceof Error ? (Cause.squash(cause) as Error).message : "see its log"}`))
    })
    return server
  }
}
