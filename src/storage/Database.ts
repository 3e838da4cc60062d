import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { StorageError } from "../domain/Errors.js"
import { Engine, type ExclusiveTask } from "./Engine.js"
import { SqlLive } from "./Sql.js"
import { reasonOf } from "./SqlReason.js"

/**
 * A failed query as a StorageError that keeps the database's own reason ("database or disk is full",
 * "database is locked", "terminating connection due to administrator command"): @effect/sql's message alone
 * is always "Failed to execute statement". Every store uses it.
 */
export const storageError = (operation: string) => (cause: unknown) => new StorageError({ operation, detail: reasonOf(cause) })

/**
 * What the use cases need of the database beyond the stores: transactions that take the write lock first,
 * health and identity, a way to notice other processes' writes, and work done by one process at a time.
 * The same on SQLite and PostgreSQL (Engine has what differs).
 */
export class Database extends Effect.Service<Database>()("twilio-mcp/Database", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const engine = yield* Engine

    /**
     * `effect` in one transaction holding the write lock from its start; inside a transaction already, in a
     * savepoint of it. A failing BEGIN or COMMIT is a StorageError naming the database's reason.
     */
    const writeTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | StorageError, R> =>
      engine.writeTransaction(effect).pipe(
        Effect.catchIf((e): e is SqlError => e instanceof SqlError, (e) => Effect.fail(storageError("write transaction")(e))),
        // @effect/sql makes a failed COMMIT a defect; here it is what it is, a storage failure (disk full).
        Effect.catchSomeDefect((defect) =>
          defect instanceof SqlError ? Option.some(Effect.fail(storageError("write transaction")(defect))) : Option.none()
        )
      )

    /** A cheap query that fails when the database is unusable: for health checks. */
    const ping = sql`SELECT COUNT(*) AS n FROM conversations WHERE 1 = 0`.pipe(
      Effect.asVoid,
      Effect.mapError(storageError("health check"))
    )

    /** Which database, its version, and the newest migration applied: for `check` and /healthz. */
    const describe = Effect.gen(function*() {
      const description = yield* engine.description
      const [latest] = yield* sql<{ name: string; migration_id: number }>`
        SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id DESC LIMIT 1`
      return { ...description, migration: latest === undefined ? "none" : `${String(latest.migration_id).padStart(4, "0")}_${latest.name}` }
    }).pipe(Effect.mapError(storageError("describe database")))

    /**
     * Starts watching for other processes' commits (another MCP client, a webhooks replica): the effect
     * returned completes at the next one. SQLite's data_version polled once a second, or PostgreSQL's NOTIFY.
     */
    const watchChanges = engine.watchChanges.pipe(
      Effect.map(Effect.mapError(storageError("check for changes"))),
      Effect.mapError(storageError("check for changes"))
    )

    /** `effect`, unless another process sharing the database is running `task` right now (then None). */
    const exclusive = <A, E, R>(task: ExclusiveTask, effect: Effect.Effect<A, E, R>) =>
      engine.exclusive(task, effect).pipe(
        Effect.catchIf((e): e is SqlError => e instanceof SqlError, (e) => Effect.fail(storageError(task)(e)))
      )

    return { writeTransaction, ping, describe, watchChanges, exclusive } as const
  }),
  dependencies: [SqlLive]
}) {}
