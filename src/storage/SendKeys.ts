import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { IdempotencyKeyReused, SendInProgress } from "../domain/Errors.js"
import { storageError } from "./Database.js"
import { SqlLive } from "./Sql.js"

/** What a key is reserved for: the parts of a send that make it this message and not another. */
export interface KeyedRequest {
  readonly to: string
  readonly from: string
  readonly text: string
  readonly mediaUrls: ReadonlyArray<string>
}

/**
 * Idempotency keys for sends. A key is reserved before Twilio is called, so two calls with the same key
 * (a retried tool call, two clients) never both send; the second gets the first one's result. A key holds
 * the request it was reserved for: the same key with another message is refused, not answered as a replay.
 */
export class SendKeys extends Effect.Service<SendKeys>()("twilio-mcp/SendKeys", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** `undefined` when this call now owns the key; the stored result when a send with it completed. */
    const reserve = (key: string, request: KeyedRequest, now: string) =>
      Effect.gen(function*() {
        const fingerprint = JSON.stringify([request.to, request.from, request.text, request.mediaUrls])
        const reserved = yield* sql`
          INSERT INTO send_keys (key, result, created_at, request) VALUES (${key}, NULL, ${now}, ${fingerprint})
          ON CONFLICT (key) DO NOTHING RETURNING key`
        if (reserved.length > 0) return undefined
        const [row] = yield* sql<{ result: string | null; created_at: string; request: string | null }>`
          SELECT result, created_at, request FROM send_keys WHERE key = ${key}`
        const earlier = row?.result == null ? undefined : JSON.parse(row.result) as { readonly messageSid?: string }
        // Keys stored before migration 0006 have no request: they are taken at their word.
        if (row?.request != null && row.request !== fingerprint) {
          const [to, , text] = JSON.parse(row.request) as [string, string, string]
          return yield* new IdempotencyKeyReused({ idempotencyKey: key, to, text, messageSid: earlier?.messageSid })
        }
        if (earlier === undefined) return yield* new SendInProgress({ idempotencyKey: key, startedAt: row?.created_at ?? now })
        return earlier as unknown
      }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storageError("reserve idempotency key")(e))))

    const complete = (key: string, result: unknown) =>
      sql`UPDATE send_keys SET result = ${JSON.stringify(result)} WHERE key = ${key}`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError("store send result"))
      )

    /** Frees a key whose send definitely did not happen (validation or a clear Twilio refusal). */
    const release = (key: string) =>
      sql`DELETE FROM send_keys WHERE key = ${key} AND result IS NULL`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError("release idempotency key"))
      )

    return { reserve, complete, release } as const
  }),
  dependencies: [SqlLive]
}) {}
