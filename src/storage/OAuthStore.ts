import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { storageError } from "./Database.js"
import { SqlLive } from "./Sql.js"

/** A record as the authorization server gave it: a JSON object. */
export type OAuthPayload = Record<string, unknown>

/** Records that outlive a revocation: registered clients and the server's own keys. */
const KEPT = ["Client", "Keys"]

/**
 * The built-in authorization server's records in the oauth_records table: what its storage adapter reads and
 * writes, its keys, and `revoke`. The only place that knows the table.
 */
export class OAuthStore extends Effect.Service<OAuthStore>()("twilio-mcp/OAuthStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** Stores `payload` under (model, id), replacing it; it stops being found after `expiresIn` seconds, if given. */
    const upsert = (model: string, id: string, payload: OAuthPayload, expiresIn: number | undefined) => {
      const expiresAt = expiresIn === undefined ? null : Date.now() + expiresIn * 1000
      const grantId = typeof payload["grantId"] === "string" ? payload["grantId"] : null
      const uid = typeof payload["uid"] === "string" ? payload["uid"] : null
      return sql`
        INSERT INTO oauth_records (model, id, payload, grant_id, uid, expires_at, consumed_at)
        VALUES (${model}, ${id}, ${JSON.stringify(payload)}, ${grantId}, ${uid}, ${expiresAt}, NULL)
        ON CONFLICT (model, id) DO UPDATE SET
          payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
          expires_at = excluded.expires_at, consumed_at = NULL`.pipe(Effect.asVoid, Effect.mapError(storageError("store OAuth record")))
    }

    const live = (rows: ReadonlyArray<{ payload: string; consumed_at: number | string | null }>) => {
      const row = rows[0]
      if (row === undefined) return undefined
      const payload = JSON.parse(row.payload) as OAuthPayload
      // oidc-provider reads `consumed` (epoch seconds) to refuse a code or refresh token used twice.
      return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(Number(row.consumed_at) / 1000) }
    }

    /** The unexpired record of `model` whose `column` (its id, or a session's uid) is `value`, with `consumed` if it was. */
    const findBy = (column: "id" | "uid") => (model: string, value: string) =>
      sql<{ payload: string; consumed_at: number | null }>`
        SELECT payload, consumed_at FROM oauth_records
        WHERE model = ${model} AND ${sql(column)} = ${value} AND (expires_at IS NULL OR expires_at > ${Date.now()})`.pipe(
        Effect.map(live),
        Effect.mapError(storageError("read OAuth record"))
      )
    const find = findBy("id")
    const findByUid = findBy("uid")

    /** Marks a code or refresh token used: a second use is refused (and revokes its grant). */
    const consume = (model: string, id: string) =>
      sql`UPDATE oauth_records SET consumed_at = ${Date.now()} WHERE model = ${model} AND id = ${id}`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError("consume OAuth record"))
      )

    const destroy = (model: string, id: string) =>
      sql`DELETE FROM oauth_records WHERE model = ${model} AND id = ${id}`.pipe(Effect.asVoid, Effect.mapError(storageError("delete OAuth record")))

    /** Every token and code issued under a grant. */
    const revokeByGrantId = (grantId: string) =>
      sql`DELETE FROM oauth_records WHERE grant_id = ${grantId}`.pipe(Effect.asVoid, Effect.mapError(storageError("revoke OAuth grant")))

    /** Ends every grant: grants, their tokens and codes, sessions, pending consents. Returns how many grants there were. */
    const revokeAll = sql.withTransaction(Effect.gen(function*() {
      const [counted] = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM oauth_records WHERE model = 'Grant'`
      yield* sql`DELETE FROM oauth_records WHERE model NOT IN ${sql.in(KEPT)}`
      return Number(counted?.n ?? 0)
    })).pipe(Effect.mapError(storageError("revoke OAuth grants")))

    /** Forgets expired records: they are never found, this only frees the space. */
    const sweep = sql`DELETE FROM oauth_records WHERE expires_at <= ${Date.now()}`.pipe(
      Effect.asVoid,
      Effect.mapError(storageError("delete expired OAuth records"))
    )

    /**
     * The server's key set `name`, made by `make` the first time. The first writer wins, so processes that
     * share the database and start together end up with the same keys.
     */
    const keys = <A extends OAuthPayload>(name: string, make: () => Promise<A>) =>
      Effect.gen(function*() {
        const made = yield* Effect.promise(make)
        yield* sql`
          INSERT INTO oauth_records (model, id, payload) VALUES ('Keys', ${name}, ${JSON.stringify(made)})
          ON CONFLICT (model, id) DO NOTHING`
        const [row] = yield* sql<{ payload: string }>`SELECT payload FROM oauth_records WHERE model = 'Keys' AND id = ${name}`
        return JSON.parse(row!.payload) as A
      }).pipe(Effect.mapError(storageError("read OAuth keys")))

    return { upsert, find, findByUid, consume, destroy, revokeByGrantId, revokeAll, sweep, keys } as const
  }),
  dependencies: [SqlLive]
}) {}
