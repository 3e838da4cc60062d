/** Shared fixtures for the unit and service tests: numbers, inbound messages, database snapshots. */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { expect } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Redacted from "effect/Redacted"
import { postgresMigrations } from "../../src/storage/migrations/postgres/index.js"
import { migrations } from "../../src/storage/migrations/index.js"
import { emptyDatabaseFor, onPostgres } from "../support/Dialect.js"
import type { PhoneNumber } from "../../src/domain/Address.js"
import * as Bridge from "../../src/mcp/Bridge.js"
import type { Tool } from "../../src/mcp/Tool.js"
import { tools } from "../../src/mcp/tools/index.js"
import { Ingest } from "../../src/messaging/Ingest.js"
import { Sending } from "../../src/messaging/Sending.js"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { TEST_PHONE, type TestLayer } from "../support/TestLayer.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"

export const alice = "+15551230001" as PhoneNumber
export const bob = "+15551230002" as PhoneNumber
export const carol = "+15551230003" as PhoneNumber
export const ours = TEST_PHONE

/** A syntactically valid message SID (SM + 32 hex) numbered `n`. */
export const messageSid = (n: number) => `SM${n.toString(16).padStart(32, "0")}`

let inboundCounter = 0

/** Stores a message received from `from` (to our number unless told), as the SMS webhook would. */
export const receive = (from: string, options: { readonly to?: string; readonly body?: string } = {}) =>
  Effect.flatMap(Ingest, (m) => {
    const sid = messageSid(0x10000 + ++inboundCounter)
    return Effect.map(
      m.inbound({
        sid,
        from: from as never,
        to: (options.to ?? ours) as never,
        body: options.body ?? `from ${from}`,
        media: [],
        extra: {}
      }),
      (result) => ({ ...result, sid })
    )
  })

/** A send's result that went to Twilio (not a dry run): it has a message SID. */
export const asSent = <R extends object>(result: R): Extract<R, { readonly messageSid: string }> => {
  expect(result).toHaveProperty("messageSid", expect.any(String))
  return result as Extract<R, { readonly messageSid: string }>
}

/** Sends a text to `to` from our number, threaded automatically. */
export const send = (to: PhoneNumber, message = `to ${to}`) =>
  Effect.flatMap(Sending, (m) => m.send({ to, message })).pipe(Effect.map(asSent))

/**
 * Every row of every table (found in the catalog, so tables added by later migrations count too):
 * compare two snapshots to prove a failed call wrote nothing.
 */
export const snapshot = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql.onDialectOrElse({
    pg: () => sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
    orElse: () =>
      sql<{ name: string }>`
        SELECT name FROM sqlite_master
        WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'
        ORDER BY name`
  })
  // Sorted here, not by rowid: some tables (full-text index internals) have none.
  const sorted = (rows: ReadonlyArray<unknown>) =>
    rows.map((row) => [JSON.stringify(row), row] as const).sort(([a], [b]) => a.localeCompare(b)).map(([, row]) => row)
  const contents = yield* Effect.forEach(tables, ({ name }) =>
    Effect.map(sql`SELECT * FROM ${sql(name)}`, (rows) => [name, sorted(rows)] as const))
  return Object.fromEntries(contents) as Record<string, ReadonlyArray<unknown>>
})

export const rowCounts = Effect.map(snapshot, (s) => ({
  conversations: s.conversations?.length,
  messages: s.messages?.length,
  events: s.message_events?.length
}))

export const empty = { conversations: 0, messages: 0, events: 0 }

/** What a refused send must leave behind: nothing reached Twilio, nothing was stored. */
export const expectNothingSentOrStored = Effect.gen(function*() {
  expect(yield* Effect.flatMap(TwilioMemory, (t) => t.sent)).toEqual([])
  expect(yield* rowCounts).toEqual(empty)
})

/** A message's status as stored, read straight from the database. */
export const storedStatus = (sid: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ status: string }>`SELECT status FROM messages WHERE sid = ${sid}`).pipe(
    Effect.map((rows) => rows[0]?.status)
  )

type TestServices = Layer.Layer.Success<ReturnType<typeof TestLayer>>

/**
 * One `tools/call` through the bridge, as the MCP server runs it. The tool list mixes tools that need
 * different services; a service the test layer lacks would show up as an "Internal error" result.
 */
export const callTool = (name: string, args: unknown): Effect.Effect<CallToolResult, never, TestServices> =>
  Bridge.callTool(tools as ReadonlyArray<Tool<any>>, name, args)

/** A database file `name` in a fresh temporary folder, removed with the scope. */
export const tempDatabase = (name: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "twilio-mcp-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => path.join(dir, name)))

/**
 * The database file as an older release left it: migrated up to `last` only, then `setup` run on it. In the
 * postgres project, the database standing for that path (test/support/Dialect.ts), with PostgreSQL's twins.
 */
export const migratedUpTo = <E>(filename: string, last: keyof typeof migrations, setup: Effect.Effect<unknown, E, SqlClient.SqlClient>) => {
  const upTo = (all: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>>) =>
    Migrator.make({})({ loader: Migrator.fromRecord(Object.fromEntries(Object.entries(all).filter(([name]) => name <= last))) })
  const client: Layer.Layer<SqlClient.SqlClient, unknown> = onPostgres
    ? Layer.unwrapEffect(Effect.map(Effect.promise(() => emptyDatabaseFor(filename)), (url) => PgClient.layer({ url: Redacted.make(url) })))
    : SqliteClient.layer({ filename })
  return Effect.scoped(Layer.build(client).pipe(
    Effect.flatMap((context) => Effect.provide(Effect.zipRight(upTo(onPostgres ? postgresMigrations : migrations), setup), context))
  ))
}
