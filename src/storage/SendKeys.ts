import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { SendInProgress } from "../domain/Errors.js"
import { storageError } from "./Database.js"
import { SqlLive } from "./Sql.js"

/**
 * Idempotency keys for sends. A key is reserved before Twilio is called, so two calls with the same key
 * (a retried tool call, two clients) never both send; the second gets the first one's result.
 */
export class SendKeys extends Effect.Service<SendKeys>()("twilio-mcp/SendKeys", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** `undefined` when this call now owns the key; the stored result when a send with it completed. */
    const reserve = (key: string, now: string) =>
      Effect.gen(function*() {
        const reserved = yield* sql`
          INSERT INTO send_keys (key, result, created_at) VALUES (${key}, NULL, ${now})
          ON CONFLICT (key) DO NOTHING RETURNING key`
        if (reserved.length > 0) return undefined
        const [row] = yield* sql<{ result: string | null; created_at: string }>`
          SELECT result, created_at FROM send_keys WHERE key = ${key}`
        if (row === undefined || row.result === null) {
          return yield* new SendInProgress({ idempotencyKey: key, startedAt: row?.created_at ?? now })
        }
        return JSON.parse(row.result) as unknown
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
