import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type { ExclusiveTask } from "./Engine.js"

/** How long a lease lasts unless renewed, and how often its holder renews it: a dead holder's ends within 6 s. */
const LEASE = Duration.seconds(6)
const RENEW_EVERY = Duration.seconds(2)

/**
 * SQLite's `exclusive`: a lease row per task (migration 0008), taken when free or expired, renewed while the
 * task runs and given back when it ends. A process that dies (or freezes) stops renewing: another takes the
 * task over once the lease expires. One statement each, atomic under SQLite's write lock.
 */
export const sqliteExclusive = (sql: SqlClient.SqlClient) => {
  /** Takes or renews the lease for `holder`; whether it holds it now. */
  const claim = (task: ExclusiveTask, holder: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      sql<{ holder: string }>`
        INSERT INTO leases (task, holder, expires_at) VALUES (${task}, ${holder}, ${now + Duration.toMillis(LEASE)})
        ON CONFLICT (task) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE leases.holder = excluded.holder OR leases.expires_at < ${now}
        RETURNING holder`.pipe(Effect.map((rows) => rows.length > 0)))

  return <A, E, R>(task: ExclusiveTask, effect: Effect.Effect<A, E, R>): Effect.Effect<Option.Option<A>, E | SqlError, R> =>
    Effect.gen(function*() {
      const holder = `${process.pid}-${(yield* Random.nextInt).toString(36)}`
      if (!(yield* claim(task, holder))) return Option.none()
      /** Ends when a renewal finds the lease taken (this process was stopped longer than the lease). */
      const lost = claim(task, holder).pipe(
        Effect.repeat({ schedule: Schedule.spaced(RENEW_EVERY), while: (held) => held }),
        Effect.as(Option.none<A>())
      )
      return yield* Effect.raceFirst(Effect.asSome(effect), lost).pipe(
        Effect.ensuring(Effect.ignore(sql`DELETE FROM leases WHERE task = ${task} AND holder = ${holder}`))
      )
    })
}
