import * as Effect from "effect/Effect"
import { AppConfig, type AppConfigShape } from "../../config/AppConfig.js"
import { OAuthStore } from "../../storage/OAuthStore.js"
import { ACCESS_TOKEN_TTL_S } from "./BuiltinIssuer.js"

/**
 * `twilio-mcp revoke`: ends every grant of the built-in authorization server (MCP_OAUTH_BUILTIN): grants,
 * refresh tokens, codes and sign-ins are deleted, so every client must be approved again. Registered clients
 * and the signing key stay. An access token already issued lives out its few minutes.
 */
export const runRevoke = (config: AppConfigShape) =>
  Effect.gen(function*() {
    const store = yield* OAuthStore
    const grants = yield* store.revokeAll
    yield* Effect.sync(() =>
      process.stdout.write(
        `revoked ${grants} grant${grants === 1 ? "" : "s"}: every client must be approved again; ` +
          `access tokens already issued expire within ${ACCESS_TOKEN_TTL_S / 60} minutes\n`
      )
    )
  }).pipe(Effect.provide(OAuthStore.Default), Effect.provide(AppConfig.layer(config)))
