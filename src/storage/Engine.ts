import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Scope from "effect/Scope"

/** What `check` and /healthz say about the database: never a password. */
export interface EngineDescription {
  readonly engine: "sqlite" | "postgresql"
  readonly version: string
  /** The file, or host:port/database. */
  readonly location: string
}

/** Work one process sharing the database does at a time: catching up at start, fetching from Twilio. */
export type ExclusiveTask = "catch-up" | "inbound-fetch"

/**
 * What the two databases do differently beyond SQL text: how a write transaction takes the write lock, how a
 * process learns of other processes' writes, how work is done by one process only. Provided with the client
 * (Sql.ts for SQLite, Postgres.ts for PostgreSQL); the Database service is its face to the use cases.
 */
export interface EngineShape {
  readonly description: Effect.Effect<EngineDescription, SqlError>
  /** `effect` in a transaction holding the database's write lock from its start (a savepoint when nested). */
  readonly writeTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  /**
   * Starts watching for commits by other processes; the effect returned completes at the next one after the
   * watch started or after its previous completion. It may also complete when nothing changed.
   */
  readonly watchChanges: Effect.Effect<Effect.Effect<void, SqlError>, SqlError, Scope.Scope>
  /**
   * `effect` unless another process sharing the database is running the same `task` (then None). Also None
   * if this process loses the task while running it (stopped for longer than its lease): `effect` is interrupted.
   */
  readonly exclusive: <A, E, R>(task: ExclusiveTask, effect: Effect.Effect<A, E, R>) => Effect.Effect<Option.Option<A>, E | SqlError, R>
}

export class Engine extends Context.Tag("twilio-mcp/Engine")<Engine, EngineShape>() {}

/**
 * Transactions on `sql` that take the write lock as they begin: `begin` is the engine's way (one round trip).
 * BEGIN, COMMIT and ROLLBACK go through `execute`, which SQLite's client prepares once and caches: a batch of
 * webhooks pays them each time. When `begin` fails (on PostgreSQL the lock after BEGIN can: lock_timeout), the
 * ROLLBACK that follows is ignored: the begin's error is the one to report.
 */
export const lockedTransactions = (sql: SqlClient.SqlClient, begin: string, system: string) =>
  SqlClient.makeWithTransaction({
    transactionTag: SqlClient.TransactionConnection,
    spanAttributes: [["db.system.name", system]],
    acquireConnection: Effect.flatMap(Scope.make(), (scope) => Effect.map(Scope.extend(sql.reserve, scope), (conn) => [scope, conn] as const)),
    begin: (conn) => conn.execute(begin, [], undefined),
    savepoint: (conn, id) => conn.executeUnprepared(`SAVEPOINT effect_sql_${id}`, [], undefined),
    commit: (conn) => conn.execute("COMMIT", [], undefined),
    rollback: (conn) => Effect.ignore(conn.execute("ROLLBACK", [], undefined)),
    rollbackSavepoint: (conn, id) => conn.executeUnprepared(`ROLLBACK TO SAVEPOINT effect_sql_${id}`, [], undefined)
  })
