import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type Provider from "oidc-provider"
import { SCOPES } from "../../mcp/Tool.js"
import { tokenMatcher } from "../McpAccess.js"
import { RejectionLog } from "../RejectionLog.js"

/** Where the authorization server sends the browser to approve a client; `:uid` is the interaction's. */
export const CONSENT_PATH = "/oauth/consent"

/** The one account of the built-in server: whoever holds an MCP_AUTH_TOKEN token. */
export const OWNER = "owner"

/** Wrong owner secrets allowed from one address per window, before it has to wait for the window's end. */
export const MAX_FAILURES = 5
export const FAILURE_WINDOW_MS = 15 * 60_000

const SCOPE_WORDS: Record<string, string> = { "sms:read": "read messages and conversations", "sms:send": "send messages and change state" }

export const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

/** No scripts, no framing (a framed form could be clicked through), nothing cached. */
const PAGE_HEADERS = {
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "cache-control": "no-store"
}

const page = (status: number, body: string) =>
  HttpServerResponse.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
      `<title>twilio-mcp: approve a client</title><style>body{font:16px system-ui;max-width:32rem;margin:3rem auto;padding:0 1rem}` +
      `input{font:inherit;width:100%;padding:.4rem;box-sizing:border-box}button{font:inherit;margin-top:1rem;padding:.4rem 1rem}` +
      `.error{color:#a00}</style></head><body>${body}</body></html>`
  ).pipe(HttpServerResponse.setStatus(status), HttpServerResponse.setHeaders(PAGE_HEADERS))

const form = (uid: string, client: string, redirect: string, scopes: ReadonlyArray<string>, error?: string) =>
  page(
    error === undefined ? 200 : 401,
    `<h1>Allow ${escape(client)}?</h1>` +
      `<p>It asks to use this twilio-mcp server's SMS tools, to:</p><ul>${scopes.map((s) => `<li>${escape(SCOPE_WORDS[s] ?? s)}</li>`).join("")}</ul>` +
      `<p>It will return to <code>${escape(redirect)}</code>.</p>` +
      (error === undefined ? "" : `<p class="error">${escape(error)}</p>`) +
      `<form method="post" action="${CONSENT_PATH}/${encodeURIComponent(uid)}">` +
      `<label for="secret">Owner secret (one of the server's MCP_AUTH_TOKEN tokens)</label>` +
      `<input id="secret" name="secret" type="password" autocomplete="current-password" required autofocus>` +
      `<button type="submit">Allow</button></form>`
  )

/** The scopes a client asked for among this server's; all of them when it asked for none of them. */
const requestedScopes = (params: Record<string, unknown>) => {
  const asked = String(params["scope"] ?? "").split(" ").filter((s) => SCOPES.includes(s))
  return asked.length > 0 ? asked : SCOPES
}

/**
 * The consent page of the built-in authorization server: one form where the owner approves a client by
 * entering one of MCP_AUTH_TOKEN's tokens (compared in constant time). A right secret signs the owner in and
 * grants the scopes asked for `resource`; wrong ones are logged collapsed and, past MAX_FAILURES from one
 * address in FAILURE_WINDOW_MS, refused without being compared until the window ends.
 */
export const ConsentRoutes = (options: {
  readonly provider: Provider
  readonly ownerSecrets: ReadonlyArray<Redacted.Redacted<string>>
  readonly resource: string
}) =>
  HttpLayerRouter.use((router) =>
    Effect.gen(function*() {
      const { provider, resource } = options
      const rejections = yield* RejectionLog
      const isOwner = tokenMatcher(options.ownerSecrets)
      const failures = new Map<string, { count: number; since: number }>()

      const node = Effect.map(HttpServerRequest.HttpServerRequest, (request) => ({
        req: NodeHttpServerRequest.toIncomingMessage(request),
        res: NodeHttpServerRequest.toServerResponse(request)
      }))

      /** The pending interaction this browser holds (its cookie), with what the client asked. */
      const interaction = Effect.flatMap(node, ({ req, res }) =>
        Effect.tryPromise(() => provider.interactionDetails(req, res)).pipe(
          Effect.flatMap((details) =>
            Effect.map(Effect.promise(() => provider.Client.find(String(details.params["client_id"]))), (client) => ({
              details,
              client: client?.clientName ?? String(details.params["client_id"]),
              redirect: String(details.params["redirect_uri"] ?? ""),
              scopes: requestedScopes(details.params)
            }))
          ),
          Effect.mapError(() => "expired")
        ))

      const expired = page(400, "<h1>This approval has expired</h1><p>Start again from the client (connect the server again).</p>")

      const show = interaction.pipe(
        Effect.map(({ client, details, redirect, scopes }) => form(details.uid, client, redirect, scopes)),
        Effect.catchAll(() => Effect.succeed(expired))
      )

      const approve = Effect.gen(function*() {
        const { req, res } = yield* node
        const pending = yield* interaction
        const address = req.socket.remoteAddress ?? "unknown"
        const now = Date.now()
        const seen = failures.get(address)
        if (seen !== undefined && now - seen.since > FAILURE_WINDOW_MS) failures.delete(address)
        const counted = failures.get(address)
        if (counted !== undefined && counted.count >= MAX_FAILURES) {
          yield* rejections.warn("owner secret: too many attempts", `OAuth consent refused: too many wrong owner secrets from ${address}`, "consent attempt")
          const minutes = Math.ceil((counted.since + FAILURE_WINDOW_MS - now) / 60_000)
          return page(429, `<h1>Too many wrong attempts</h1><p>Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.</p>`)
            .pipe(HttpServerResponse.setHeader("retry-after", String(minutes * 60)))
        }
        const { secret } = yield* HttpServerRequest.schemaBodyUrlParams(Schema.Struct({ secret: Schema.String }))
        if (!isOwner(secret)) {
          failures.set(address, { count: (counted?.count ?? 0) + 1, since: counted?.since ?? now })
          yield* rejections.warn("wrong owner secret", `OAuth consent refused: wrong owner secret from ${address}`, "consent attempt")
          return form(pending.details.uid, pending.client, pending.redirect, pending.scopes, "That is not one of the server's tokens.")
        }
        const { details } = pending
        yield* Effect.promise(async () => {
          const grant = new provider.Grant({ accountId: OWNER, clientId: String(details.params["client_id"]) })
          // The provider also counts the resource's scopes among its own (registration checks them): granted both ways.
          const oidc = String(details.params["scope"] ?? "").split(" ").filter((s) => s === "openid" || s === "offline_access")
          grant.addOIDCScope([...oidc, ...pending.scopes].join(" "))
          grant.addResourceScope(resource, pending.scopes.join(" "))
          const grantId = await grant.save()
          // Writes the redirect back to the authorization endpoint, which issues the code.
          await provider.interactionFinished(req, res, { login: { accountId: OWNER }, consent: { grantId } }, { mergeWithLastSubmission: false })
        })
        yield* Effect.logInfo(`OAuth: the owner approved client ${pending.client} (${pending.scopes.join(" ")})`)
        return HttpServerResponse.empty()
      }).pipe(
        Effect.catchTag("ParseError", () => Effect.succeed(page(400, "<h1>Bad request</h1><p>The form had no secret.</p>"))),
        Effect.catchAll(() => Effect.succeed(expired))
      )

      yield* router.add("GET", `${CONSENT_PATH}/:uid`, show)
      yield* router.add("POST", `${CONSENT_PATH}/:uid`, approve)
    })
  )
