import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import { AppConfig } from "../config/AppConfig.js"
import { clip } from "../domain/Text.js"
import { serverFactory } from "../mcp/Bridge.js"
import type { Progress } from "../mcp/Progress.js"
import { SCOPES, scopeOf, type Tool } from "../mcp/Tool.js"
import type { ToolServices } from "../mcp/tools/index.js"
import { makeAccess } from "./McpAccess.js"
import { type Grant, OAuthGate } from "./oauth/AccessTokens.js"
import { RejectionLog } from "./RejectionLog.js"
import { boundedText, CLOSE_AFTER_413, declaredTooLarge, MAX_BODY_BYTES } from "./BodyLimit.js"

export const MCP_PATH = "/mcp"

/** `http` was started without MCP_AUTH_TOKEN: it never serves tools to whoever reaches the port. */
export class McpAuthTokenMissing extends Schema.TaggedError<McpAuthTokenMissing>()("McpAuthTokenMissing", {}) {
  override get message() {
    return "MCP_AUTH_TOKEN is required by the http command: set it to one or more tokens of 32+ characters, " +
      "separated by commas (generate one with: openssl rand -hex 32); clients send one as \"Authorization: Bearer <token>\"."
  }
}

/** A request to /mcp refused before any MCP message is read: the status, and what the client is told. */
export class McpRefused extends Schema.TaggedError<McpRefused>()("McpRefused", {
  status: Schema.Literal(400, 401, 403, 405, 413),
  reason: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String })
}) {}

/** The realm of the bearer challenge (RFC 6750 §3). */
const CHALLENGE = "Bearer realm=\"twilio-mcp\""

/** What a static MCP_AUTH_TOKEN token may do: everything. */
const EVERY_SCOPE: Grant = { scopes: new Set(SCOPES), clientId: undefined }

/** The tools a JSON-RPC message or batch calls. */
const toolsCalled = (body: unknown): ReadonlyArray<string> =>
  (Array.isArray(body) ? body : [body]).flatMap((m) =>
    typeof m === "object" && m !== null && m.method === "tools/call" && typeof m.params?.name === "string" ? [m.params.name as string] : []
  )

/** The edge's one mapping of refusals to responses: a JSON-RPC error body, as the SDK's transport answers its own. */
const respond = (e: McpRefused) =>
  HttpServerResponse.unsafeJson({ jsonrpc: "2.0", error: { code: -32000, message: e.reason }, id: null }, {
    status: e.status,
    headers: e.status === 413 ? { ...e.headers, ...CLOSE_AFTER_413 } : e.headers
  })

/**
 * MCP over Streamable HTTP at /mcp, beside the webhook routes on the same router. Stateless: every POST gets
 * a fresh SDK server and transport (no session id), so any replica answers any request and nothing is kept
 * between requests; a `wait_for_reply` streams its progress over the POST's SSE answer and wakes on a reply
 * stored by any process (the Inbox). In order: Host/Origin (403), bearer token (401: one of MCP_AUTH_TOKEN's,
 * which may do everything, or with OAuth on an access token the OAuthGate accepts), method (405: there is no
 * session to GET or DELETE), body size (413), and for a token without every scope the tools it calls (403
 * insufficient_scope, before they run); the SDK then checks Accept, Content-Type and the JSON-RPC.
 * When the client goes away the request's fiber is interrupted and closing its server aborts the tool call.
 */
export const McpRoute = (tools: ReadonlyArray<Tool<ToolServices>>) =>
  HttpLayerRouter.use((router) =>
    Effect.gen(function*() {
      const config = yield* AppConfig
      const rejections = yield* RejectionLog
      const check = makeAccess({ tokens: config.mcpAuthTokens, publicBaseUrl: config.webhookBaseUrl, allowedHosts: config.mcpAllowedHosts })
      const oauth = yield* Effect.serviceOption(OAuthGate)
      // With OAuth on, a client learns from the challenge where to get a token (RFC 9728 §5.1) and for which scopes.
      const challenge = Option.match(oauth, {
        onNone: () => CHALLENGE,
        onSome: (gate) => `${CHALLENGE}, resource_metadata="${gate.resourceMetadataUrl}", scope="${SCOPES.join(" ")}"`
      })
      const scopeOfTool = new Map(tools.map((tool) => [tool.name, scopeOf(tool)]))
      const runtime = yield* Effect.runtime<Exclude<ToolServices, Progress>>()
      const newServer = serverFactory(tools, (effect, signal) => Runtime.runPromiseExit(runtime, effect, { signal }))

      const refuse = (status: McpRefused["status"], reason: string, headers: Record<string, string> = {}) =>
        new McpRefused({ status, reason, headers })

      const admitted = Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const verdict = check(request.headers)
        let grant = EVERY_SCOPE
        switch (verdict._tag) {
          case "ForeignHost": {
            const shown = clip(verdict.value, 100)
            yield* rejections.warn(
              `${verdict.header === "host" ? "Host" : "Origin"} not allowed`,
              `MCP request refused: ${verdict.header} ${shown} is not this server (add it to MCP_ALLOWED_HOSTS if it is)`,
              "MCP request"
            )
            return yield* refuse(403, `Forbidden: ${verdict.header === "host" ? "Host" : "Origin"} ${shown} is not allowed`)
          }
          case "NoToken":
            yield* Effect.logDebug("MCP request refused: no bearer token")
            return yield* refuse(401, "Unauthorized: send \"Authorization: Bearer <token>\" with one of MCP_AUTH_TOKEN's tokens", {
              "www-authenticate": challenge
            })
          case "WrongToken": {
            const refused = (reason: string, line: string) =>
              Effect.zipRight(
                rejections.warn(reason, `MCP request refused: ${line}`, "MCP request"),
                refuse(401, "Unauthorized: the bearer token is not valid", { "www-authenticate": `${challenge}, error="invalid_token"` })
              )
            if (Option.isNone(oauth)) return yield* refused("wrong bearer token", "the bearer token is not one of MCP_AUTH_TOKEN's")
            grant = yield* oauth.value.verify(Redacted.value(verdict.token)).pipe(
              Effect.catchTag("TokenRefused", (e) => refused(`access token ${e.reason}`, `the access token is not valid: ${e.reason}`))
            )
          }
        }
        if (request.method !== "POST") {
          return yield* refuse(405, "Method not allowed: this server is stateless (no sessions); send JSON-RPC with POST", { allow: "POST" })
        }
        if (declaredTooLarge(request.headers)) return yield* refuse(413, `Payload too large: body over ${MAX_BODY_BYTES} bytes`)
        if (SCOPES.every((scope) => grant.scopes.has(scope))) return { request, body: undefined }
        return { request, body: yield* withinScopes(request, grant) }
      })

      /**
       * A token without every scope: the body is read here (bounded) to refuse, before it runs, a call to a tool
       * its scopes do not cover: 403 with the step-up challenge (the scopes it has and the one it lacks).
       */
      const withinScopes = (request: HttpServerRequest.HttpServerRequest, grant: Grant) =>
        Effect.gen(function*() {
          const text = yield* boundedText(request).pipe(
            Effect.catchAll((e) =>
              e === "too large" ? refuse(413, `Payload too large: body over ${MAX_BODY_BYTES} bytes`) : refuse(400, "Bad request: the body could not be read"))
          )
          const body = yield* Effect.try(() => JSON.parse(text) as unknown).pipe(
            Effect.catchAll(() => refuse(400, "Bad request: the body is not JSON"))
          )
          const lacking = toolsCalled(body).map((name) => scopeOfTool.get(name)).find((scope) => scope !== undefined && !grant.scopes.has(scope))
          if (lacking === undefined) return body
          yield* Effect.logDebug(`MCP request refused: the access token lacks ${lacking}`)
          return yield* refuse(403, `Forbidden: this tool needs the ${lacking} scope, which the access token does not have`, {
            "www-authenticate": `Bearer error="insufficient_scope", scope="${[...grant.scopes, lacking].join(" ")}"` +
              Option.match(oauth, { onNone: () => "", onSome: (gate) => `, resource_metadata="${gate.resourceMetadataUrl}"` })
          })
        })

      /** One request on its own server and transport; the SDK writes the answer (JSON-RPC, SSE) to Node's response. */
      const serve = ({ body, request }: { readonly request: HttpServerRequest.HttpServerRequest; readonly body: unknown }) =>
        Effect.acquireUseRelease(
          Effect.promise(async () => {
            const server = newServer()
            // No sessionIdGenerator: stateless. A body without Content-Length (chunked) is bounded as it is read (413).
            const transport = new StreamableHTTPServerTransport({ maxRequestBodySize: MAX_BODY_BYTES })
            await server.connect(transport)
            return { server, transport }
          }),
          ({ transport }) =>
            Effect.promise(() =>
              transport.handleRequest(NodeHttpServerRequest.toIncomingMessage(request), NodeHttpServerRequest.toServerResponse(request), body)
            ),
          ({ server }) => Effect.promise(() => server.close())
        )

      const handler = admitted.pipe(
        Effect.flatMap(serve),
        // Already written by the transport: the platform sends nothing more for an ended response.
        Effect.as(HttpServerResponse.empty()),
        Effect.catchTag("McpRefused", (e) => Effect.succeed(respond(e)))
      )
      yield* router.add("*", MCP_PATH, handler)
      yield* Effect.logInfo(
        `MCP over Streamable HTTP at ${MCP_PATH} (stateless, ${config.mcpAuthTokens.length} bearer token(s)${Option.isSome(oauth) ? " and OAuth" : ""}, ` +
          `hosts: loopback, ${[new URL(config.webhookBaseUrl).hostname, ...config.mcpAllowedHosts].join(", ")})`
      )
    })
  ).pipe(Layer.provide(RejectionLog.Default))
