import * as NodeContext from "@effect/platform-node/NodeContext"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as RcRef from "effect/RcRef"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import pg from "pg"
import { StorageError } from "../domain/Errors.js"
import { Engine, type ExclusiveTask, lockedTransactions } from "./Engine.js"
import { postgresLocation } from "./Location.js"
import { reasonOf } from "./SqlReason.js"
import { postgresMigrations } from "./migrations/postgres/index.js"

/**
 * The advisory locks of this application, as (class, lock) pairs: the class keeps them apart from any other
 * application's locks in the same database.
 */
const LOCK_CLASS = 0x74776d63 // "twmc"
const locks = { write: 1, "catch-up": 2, migrate: 3, "inbound-fetch": 4 } as const
/** How long a write waits for the write lock; how long a transaction holding it may sit idle. */
const LOCK_TIMEOUT = "10s"
const IDLE_IN_TRANSACTION = "15s"

/** Where the messages table's trigger announces inbound messages (migration 0001). */
const INBOUND_CHANNEL = "twilio_mcp_inbound"

/** A LISTEN connection is proved alive this often: a dead one (a database restart) delivers nothing, silently. */
const HEARTBEAT = Duration.seconds(5)
/** How long its own notification may take to come back to it. */
const ECHO_TIMEOUT = Duration.seconds(2)
/** How long the listener outlives its last waiter: back-to-back waits reuse it. */
const LISTENER_IDLE = Duration.seconds(30)

/**
 * node-postgres gives int8 (COUNT(*), bigint ids) as strings, to be exact beyond 2^53: ids and counts here stay
 * far below, and the stores share their row decoding with SQLite, which gives numbers.
 */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser
}

/** Runs `sql` on one connection of its own, as text: for the session-level advisory locks. */
const onConnection = (conn: Connection, sql: string) => conn.executeUnprepared(sql, [], undefined)

/**
 * PostgreSQL's ways: a write transaction takes a transaction-scoped advisory lock first, so read-then-write
 * transactions (the hourly cap, a thread found or created, a message and the callbacks that beat it)
 * serialize across every process and machine as BEGIN IMMEDIATE serializes them on SQLite. Other processes'
 * inbound messages are announced by a trigger through NOTIFY; single-process work takes a session lock.
 */
const postgresEngine = (url: Redacted.Redacted<string>) =>
  Layer.scoped(
    Engine,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const client = yield* PgClient.PgClient

      // The transaction and its lock in one round trip (a simple query may hold several statements). As on
      // SQLite (busy_timeout), waiting for the lock ends after 10 s with an error (a 503, an isError), and a
      // process that stops mid-transaction (frozen, cut off) loses its session and the lock after 15 s, instead
      // of every replica waiting until TCP notices (hours).
      const writeTransaction = lockedTransactions(
        sql,
        `BEGIN; SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'; SET LOCAL idle_in_transaction_session_timeout = '${IDLE_IN_TRANSACTION}'; ` +
          `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${locks.write})`,
        "postgresql"
      )

      const exclusive = <A, E, R>(task: ExclusiveTask, effect: Effect.Effect<A, E, R>) =>
        Effect.scoped(Effect.gen(function*() {
          const conn = yield* sql.reserve
          const [row] = yield* onConnection(conn, `SELECT pg_try_advisory_lock(${LOCK_CLASS}, ${locks[task]}) AS locked`)
          if (row?.locked !== true) return Option.none<A>()
          // The lock belongs to the session, not the transaction: the connection goes back to the pool holding
          // it unless it is released here. A connection that failed takes the lock with it.
          return yield* Effect.asSome(effect).pipe(
            Effect.ensuring(Effect.ignore(onConnection(conn, `SELECT pg_advisory_unlock(${LOCK_CLASS}, ${locks[task]})`)))
          )
        }))

      // Other processes' changes: one LISTEN per process, shared by its waiters, each told through a PubSub.
      const changes = yield* PubSub.unbounded<void>()
      const liveClock = Clock.make()

      /**
       * One LISTEN session, until its connection stops echoing this process's own notifications. `onReady` runs
       * at the first echo: from then on every notification reaches it.
       */
      const session = (onReady: Effect.Effect<void>) =>
        Effect.scoped(Effect.gen(function*() {
          const echoes = yield* Queue.unbounded<string>()
          yield* client.listen(INBOUND_CHANNEL).pipe(
            Stream.runForEach((payload) => payload.startsWith("ping ") ? Queue.offer(echoes, payload) : PubSub.publish(changes, undefined)),
            Effect.forkScoped
          )
          // Bounded as a whole: after a failover the NOTIFY itself can hang on a half-open connection.
          const echoed = (timeout: Duration.Duration) =>
            Effect.gen(function*() {
              const token = `ping ${crypto.randomUUID()}`
              yield* sql`SELECT pg_notify(${INBOUND_CHANNEL}, ${token})`
              yield* Queue.take(echoes).pipe(Effect.repeat({ until: (payload) => payload === token }))
            }).pipe(Effect.timeoutFail({ duration: timeout, onTimeout: () => new SqlError({ message: "LISTEN connection did not echo" }) }))
          // LISTEN runs in the background: the first notifications may go out before it is in place.
          yield* Effect.retry(echoed(Duration.millis(250)), Schedule.recurs(20))
          yield* onReady
          // Listening again after a lost connection: what was announced meanwhile went nowhere, so waiters look.
          yield* PubSub.publish(changes, undefined)
          return yield* Effect.forever(Effect.zipRight(Effect.sleep(HEARTBEAT), echoed(ECHO_TIMEOUT)))
        }))

      const listener = yield* RcRef.make({
        acquire: Effect.gen(function*() {
          const ready = yield* Effect.makeLatch(false)
          let listened = false
          // Whatever ends a session, waiters look again (a notification may have been missed), then a new one
          // starts: at once after a session that was listening (its connection was lost), a second later after
          // one that never got there (the database is down).
          yield* session(Effect.zipRight(ready.open, Effect.sync(() => void (listened = true)))).pipe(
            Effect.catchAllCause((cause) => Effect.logDebug("LISTEN session ended", cause)),
            Effect.zipRight(PubSub.publish(changes, undefined)),
            Effect.zipRight(Effect.suspend(() => {
              const again = listened ? Effect.void : Effect.sleep(Duration.seconds(1))
              listened = false
              return again
            })),
            Effect.forever,
            Effect.withClock(liveClock),
            Effect.forkScoped
          )
          yield* ready.await.pipe(
            Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => new SqlError({ message: "cannot LISTEN for other processes' messages" }) }),
            Effect.withClock(liveClock)
          )
        }),
        idleTimeToLive: LISTENER_IDLE
      })

      const watchChanges = Effect.gen(function*() {
        const subscription = yield* PubSub.subscribe(changes)
        yield* RcRef.get(listener).pipe(Effect.withClock(liveClock))
        return Effect.asVoid(Effect.zipRight(Queue.take(subscription), Queue.takeAll(subscription)))
      })

      return Engine.of({
        description: Effect.map(
          sql<{ version: string }>`SELECT current_setting('server_version') AS version`,
          (rows) => ({ engine: "postgresql", version: rows[0]?.version ?? "", location: postgresLocation(url) })
        ),
        writeTransaction,
        watchChanges,
        exclusive
      })
    })
  )

const latestMigration = Math.max(...Object.keys(postgresMigrations).map((name) => Number.parseInt(name, 10)))

/**
 * Migrations under a session lock: replicas starting together on a new database queue behind the first
 * instead of racing to create the same tables. A database already up to date (every start but the first)
 * is seen with one query on the pool's first connection, without the two more the lock and the migrator's
 * transaction take.
 */
const migrate = Layer.effectDiscard(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const applied = yield* sql<{ id: number | null }>`SELECT MAX(migration_id) AS id FROM effect_sql_migrations`.pipe(
    Effect.map((rows) => rows[0]?.id ?? 0),
    Effect.orElseSucceed(() => 0)
  )
  if (applied >= latestMigration) return
  yield* Effect.scoped(Effect.gen(function*() {
    const conn = yield* sql.reserve
    yield* onConnection(conn, `SELECT pg_advisory_lock(${LOCK_CLASS}, ${locks.migrate})`)
    yield* Effect.addFinalizer(() => Effect.ignore(onConnection(conn, `SELECT pg_advisory_unlock(${LOCK_CLASS}, ${locks.migrate})`)))
    yield* PgMigrator.run({ loader: PgMigrator.fromRecord(postgresMigrations) })
  }))
})).pipe(Layer.provide(NodeContext.layer))

/** PostgreSQL at `url`, migrated. A server that cannot be reached or refuses fails start-up naming it, not the password. */
export const postgresLayer = (url: Redacted.Redacted<string>) => {
  const where = postgresLocation(url)
  const failed = (operation: string) => (cause: unknown) =>
    new StorageError({
      operation,
      detail: `PostgreSQL at ${where}: ${reasonOf(cause)}. Check DATABASE_URL (postgres://user:password@host:5432/database).`
    })
  return Layer.merge(migrate.pipe(Layer.mapError(failed("migrate database"))), postgresEngine(url)).pipe(
    Layer.provideMerge(
      PgClient.layer({
        url,
        types,
        applicationName: "twilio-mcp",
        // Without a bound, a query during a database outage waits for a connection forever.
        connectTimeout: Duration.seconds(5)
      }).pipe(Layer.mapError(failed("open database")))
    )
  )
}
