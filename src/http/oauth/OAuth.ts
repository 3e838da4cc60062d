import type { HttpRouter } from "@effect/platform/HttpLayerRouter"
import * as Layer from "effect/Layer"
import type { AppConfig } from "../../config/AppConfig.js"
import type { OAuthMode } from "../../config/OAuthMode.js"
import { OAuthStore } from "../../storage/OAuthStore.js"
import { BuiltinIssuer } from "./BuiltinIssuer.js"
import { ExternalIssuer } from "./ExternalIssuer.js"

/** Why OAuth could not start: the issuer's metadata, an http base URL for Mode B, the database. */
export type OAuthStartError = Layer.Layer.Error<ReturnType<typeof ExternalIssuer>> | Layer.Layer.Error<typeof BuiltinIssuer> | Layer.Layer.Error<typeof OAuthStore.Default>

/**
 * `/mcp` (`route`) with OAuth as configured: off, Mode A (an external issuer's tokens) or Mode B (the built-in
 * authorization server on the same router). Each mode also adds its routes: the Protected Resource Metadata
 * and, in Mode B, the authorization server's.
 */
export const withOAuth = (mode: OAuthMode) => <E, R>(route: Layer.Layer<never, E, R>): Layer.Layer<never, E | OAuthStartError, R | AppConfig | HttpRouter> => {
  switch (mode._tag) {
    case "Off":
      return route
    case "External":
      return Layer.provide(route, ExternalIssuer(mode.issuer))
    case "Builtin":
      return Layer.provide(route, Layer.provide(BuiltinIssuer, OAuthStore.Default))
  }
}
