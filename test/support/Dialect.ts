/**
 * Which database the service, webhook and end-to-end tests run on: the vitest project sets TEST_DIALECT
 * (vitest.config.ts). On PostgreSQL each test file gets a database cloned from the migrated template
 * (test/support/postgresServer.ts); DATABASE_PATH values keep their meaning: ":memory:" is a fresh, empty
 * database for each service graph built on it (the file's database, emptied), and a path is a database
 * shared by every graph or server given that path in the file.
 */
import { inject } from "vitest"
import pg from "pg"
import { adminQuery, withDatabase } from "./pgAdmin.js"

export const dialect: "sqlite" | "postgres" = process.env.TEST_DIALECT === "postgres" ? "postgres" : "sqlite"
export const onPostgres = dialect === "postgres"

interface FileDatabases {
  readonly adminUrl: string
  readonly template: string
  readonly prefix: string
  /** DATABASE_PATH → database name, for those created so far; ":memory:" is the file's own. */
  readonly byPath: Map<string, string>
  /** The tables of a fresh clone: a test that dropped one gets a new clone for the next. */
  readonly tables: string
  /** A connection to the file's database, and what empties it. */
  readonly reset: { readonly client: pg.Client; readonly statement: string } | undefined
}

let file: FileDatabases | undefined

const current = () => {
  if (file === undefined) throw new Error("no PostgreSQL test database: run the file in the postgres project")
  return file
}

const clone = (name: string, from: string = current().template) => adminQuery(current().adminUrl, `CREATE DATABASE ${name} TEMPLATE ${from}`)

/** Creates this file's database (setupFiles' beforeAll). */
export const openFileDatabases = async () => {
  const { adminUrl, template } = inject("postgres")
  const prefix = `t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  file = { adminUrl, template, prefix, byPath: new Map([[":memory:", prefix]]), tables: "", reset: undefined }
  await clone(prefix)
  await connectReset()
}

/**
 * Opens the connection that empties the file's database between service graphs. DELETE, referencing tables
 * first, and identities restarted: ~2 ms where TRUNCATE takes ~15 ms (it makes new files for every table).
 */
const connectReset = async () => {
  const client = new pg.Client({ connectionString: fileDatabaseUrl() })
  // A test that restarts the database ends this idle session too: the next reset reconnects (see `emptied`).
  client.on("error", () => {})
  await client.connect()
  const tables = await tableList(client)
  const { rows: references } = await client.query<{ child: string; parent: string }>(`
    SELECT quote_ident(c.relname) AS child, quote_ident(p.relname) AS parent FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
    WHERE k.contype = 'f' AND c.oid <> p.oid`)
  const { rows: identities } = await client.query<{ name: string; column_name: string }>(`
    SELECT quote_ident(table_name) AS name, quote_ident(column_name) AS column_name
    FROM information_schema.columns WHERE table_schema = 'public' AND is_identity = 'YES'`)
  const order: Array<string> = []
  let left = tables.split(", ")
  while (left.length > 0) {
    const free = left.filter((t) => !references.some((r) => r.parent === t && left.includes(r.child) && r.child !== t))
    if (free.length === 0) throw new Error(`cyclic foreign keys among ${left.join(", ")}`)
    order.push(...free)
    left = left.filter((t) => !free.includes(t))
  }
  const statement = [
    ...order.map((t) => `DELETE FROM ${t}`),
    ...identities.map((i) => `ALTER TABLE ${i.name} ALTER COLUMN ${i.column_name} RESTART`)
  ].join("; ")
  file = { ...current(), tables, reset: { client, statement } }
}

const tableList = async (client: pg.Client) =>
  (await client.query<{ name: string }>(
    "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'effect_sql_migrations' ORDER BY 1"
  )).rows.map((r) => r.name).join(", ")

const disconnectReset = async () => {
  await current().reset?.client.end()
  file = { ...current(), reset: undefined }
}

/** Drops every database of this file (setupFiles' afterAll). */
export const closeFileDatabases = async () => {
  await disconnectReset()
  created.clear()
  const { adminUrl, byPath } = current()
  file = undefined
  for (const name of byPath.values()) await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}

/** The URL of this file's own database: what its servers share (one Stack per file, like one database file). */
export const fileDatabaseUrl = () => withDatabase(current().adminUrl, current().prefix)

/**
 * The file's database as a fresh `:memory:` one: every table emptied, identities restarted; cloned again if a
 * test damaged its schema (dropped a table to break storage).
 */
const emptied = async () => {
  const { adminUrl, prefix, reset, tables } = current()
  const intact = await tableList(reset!.client).then((now) => now === tables, () => undefined)
  if (intact === undefined) {
    await disconnectReset().catch(() => {})
    await connectReset()
    return emptied()
  }
  if (intact) {
    await reset!.client.query(reset!.statement)
  } else {
    await disconnectReset()
    await adminQuery(adminUrl, `DROP DATABASE ${prefix} WITH (FORCE)`)
    await clone(prefix)
    await connectReset()
  }
  return fileDatabaseUrl()
}

/** The database each DATABASE_PATH stands for, once created: callers at the same time wait for the same one. */
const created = new Map<string, Promise<string>>()

const register = (databasePath: string, create: (name: string) => Promise<unknown>) => {
  const databases = current()
  const name = `${databases.prefix}_${databases.byPath.size}`
  databases.byPath.set(databasePath, name)
  const url = create(name).then(() => withDatabase(databases.adminUrl, name))
  created.set(databasePath, url)
  return url
}

/** The PostgreSQL URL standing for DATABASE_PATH `databasePath` (see the top of this file). */
export const databaseUrlFor = (databasePath: string): Promise<string> =>
  databasePath === ":memory:" ? emptied() : created.get(databasePath) ?? register(databasePath, (name) => clone(name))

/** A database with no tables standing for DATABASE_PATH `databasePath`: for an older release's schema. */
export const emptyDatabaseFor = (databasePath: string) => register(databasePath, (name) => clone(name, "template0"))
