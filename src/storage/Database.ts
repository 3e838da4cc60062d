import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { StorageError } from "../domain/Errors.js"
import { reasonOf, SqlLive } from "./Sql.js"

/**
 * A failed query as a StorageError that keeps SQLite's own reason ("database or disk is full", "database is
 * locked"): @effect/sql's message alone is always "Failed to execute statement". Every store uses it.
 */
export const storageError = (operation: string) => (cause: unknown) => new StorageError({ operation, detail: reasonOf(cause) })

/**
 * What the use cases need of the database beyond the stores: transactions that take the write lock first,
 * a health check, and a way to notice other processes' writes.
 */
export class Database extends Effect.Service<Database>()("twilio-mcp/Database", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /**
     * BEGIN IMMEDIATE: a read-then-write transaction waits for the write lock (busy_timeout) instead of failing
     * with SQLITE_BUSY_SNAPSHOT when another process wrote in between. SqliteClient's own is a deferred BEGIN.
     */
    const immediate = SqlClient.makeWithTransaction({
      transactionTag: SqlClient.TransactionConnection,
      spanAttributes: [["db.system.name", "sqlite"]],
      acquireConnection: Effect.flatMap(Scope.make(), (scope) => Effect.map(Scope.extend(sql.reserve, scope), (conn) => [scope, conn] as const)),
      // Prepared once (the client's statement cache): a batch of webhooks pays BEGIN and COMMIT each time.
      begin: (conn) => conn.execute("BEGIN IMMEDIATE", [], undefined),
      savepoint: (conn, id) => conn.executeUnprepared(`SAVEPOINT effect_sql_${id}`, [], undefined),
      commit: (conn) => conn.execute("COMMIT", [], undefined),
      // A BEGIN that failed left no transaction to roll back: its own error is the one to report.
      rollback: (conn) => Effect.ignore(conn.execute("ROLLBACK", [], undefined)),
      rollbackSavepoint: (conn, id) => conn.executeUnprepared(`ROLLBACK TO SAVEPOINT effect_sql_${id}`, [], undefined)
    })

    /**
     * `effect` in one transaction holding the write lock from its start; inside a transaction already, in a
     * savepoint of it. A failing BEGIN or COMMIT is a StorageError naming SQLite's reason.
     */
    const writeTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | StorageError, R> =>
      immediate(effect).pipe(
        Effect.catchIf((e): e is SqlError => e instanceof SqlError, (e) => Effect.fail(storageError("write transaction")(e))),
        // @effect/sql makes a failed COMMIT a defect; here it is what it is, a storage failure (disk full).
        Effect.catchSomeDefect((defect) =>
          defect instanceof SqlError ? Option.some(Effect.fail(storageError("write transaction")(defect))) : Option.none()
        )
      )

    /** A cheap query that fails when the database is unusable: for health checks. */
    const ping = sql`SELECT COUNT(*) AS n FROM conversations WHERE 0`.pipe(
      Effect.asVoid,
      Effect.mapError(storageError("health check"))
    )

    /**
     * SQLite's counter of commits made by other connections: a change means another process (a second MCP
     * client, the webhooks process) wrote, so a waiter knows when to look again without querying the tables.
     */
    const dataVersion = sql<{ data_version: number }>`PRAGMA data_version`.pipe(
      Effect.map((rows) => rows[0]?.data_version ?? 0),
      Effect.mapError(storageError("check for changes"))
    )

    return { writeTransaction, ping, dataVersion } as const
  }),
  dependencies: [SqlLive]
}) {}
