import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { storageError } from "./Database.js"
import { SqlLive } from "./Sql.js"

export interface FetchTimes {
  /** Until when (ms) to fetch at the fast cadence: a wait is active, or a send was recent, in some process. */
  readonly fastUntil: number
  /** When (ms) the last fetch from Twilio ended, in any process. */
  readonly fetchedAt: number
}

/**
 * What the processes sharing the database tell each other about fetching from Twilio (migration 0008): one
 * row, written with an upsert so that an emptied table works as a fresh one.
 */
export class FetchState extends Effect.Service<FetchState>()("twilio-mcp/FetchState", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const read = sql<{ fast_until: number; fetched_at: number }>`SELECT fast_until, fetched_at FROM inbound_fetch WHERE id = 1`.pipe(
      Effect.map(([row]): FetchTimes => ({ fastUntil: Number(row?.fast_until ?? 0), fetchedAt: Number(row?.fetched_at ?? 0) })),
      Effect.mapError(storageError("read fetch state"))
    )

    /** Fast fetching until `until` at least (a later time already set stays). */
    const hurry = (until: number) =>
      sql`
        INSERT INTO inbound_fetch (id, fast_until) VALUES (1, ${until})
        ON CONFLICT (id) DO UPDATE SET fast_until = CASE WHEN inbound_fetch.fast_until > excluded.fast_until
          THEN inbound_fetch.fast_until ELSE excluded.fast_until END`.pipe(Effect.asVoid, Effect.mapError(storageError("record fetch cadence")))

    const fetched = (at: number) =>
      sql`INSERT INTO inbound_fetch (id, fetched_at) VALUES (1, ${at}) ON CONFLICT (id) DO UPDATE SET fetched_at = excluded.fetched_at`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError("record fetch time"))
      )

    return { read, hurry, fetched } as const
  }),
  dependencies: [SqlLive]
}) {}
