import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"

/** Headers a request may carry once: Node keeps the first of several, so a second one would go unseen. */
const SINGLE = [["host", "Host"], ["authorization", "Authorization"]] as const

/**
 * Every route (webhooks, /mcp, /healthz): a request with two Host or two Authorization headers is refused
 * with 400 before its handler runs. Which one counts is ambiguous (a proxy may have read the other), so
 * neither is taken.
 */
export const RefuseRepeatedHeaders = HttpLayerRouter.middleware((handler) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const distinct = NodeHttpServerRequest.toIncomingMessage(request).headersDistinct
    const repeated = SINGLE.find(([name]) => (distinct[name]?.length ?? 0) > 1)
    return repeated === undefined ? handler : Effect.succeed(HttpServerResponse.text(`Bad request: more than one ${repeated[1]} header`, { status: 400 }))
  }), { global: true })
