import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { SCOPES } from "../../mcp/Tool.js"

/** RFC 9728's well-known path; the form suffixed with the resource's path (`/mcp`) is what MCP clients ask first. */
export const PRM_PATH = "/.well-known/oauth-protected-resource"

/** The public `/mcp` URL: the resource that access tokens must name as their audience. */
export const resourceUrl = (publicBaseUrl: string) => `${publicBaseUrl}/mcp`

/** Where the metadata of `/mcp` is, for the 401's `resource_metadata`. */
export const resourceMetadataUrl = (publicBaseUrl: string) => `${new URL(publicBaseUrl).origin}${PRM_PATH}${new URL(resourceUrl(publicBaseUrl)).pathname}`

/**
 * Protected Resource Metadata (RFC 9728) at both well-known forms: what `/mcp` is, which authorization
 * server issues its tokens, its scopes, and that tokens go in the Authorization header. Public, and
 * readable from a browser-based client (CORS).
 */
export const ResourceMetadataRoutes = (options: { readonly publicBaseUrl: string; readonly issuer: string }) =>
  HttpLayerRouter.use((router) => {
    const document = HttpServerResponse.unsafeJson({
      resource: resourceUrl(options.publicBaseUrl),
      authorization_servers: [options.issuer],
      scopes_supported: SCOPES,
      bearer_methods_supported: ["header"],
      resource_name: "twilio-mcp (Twilio SMS)"
    }, { headers: { "access-control-allow-origin": "*", "cache-control": "max-age=300" } })
    return Effect.all([
      router.add("GET", PRM_PATH, Effect.succeed(document)),
      router.add("GET", `${PRM_PATH}/mcp`, Effect.succeed(document))
    ], { discard: true })
  })
