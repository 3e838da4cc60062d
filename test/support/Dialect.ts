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
  file = { adminUrl, template, prefix, byPath: new Map([[":memory:", prefix]]), tables: "" }
  await clone(prefix)
  file = { ...file, tables: await withClient(withDatabase(adminUrl, prefix), tableList) }
}

const withClient = async <A>(url: string, f: (client: pg.Client) => Promise<A>) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

const tableList = async (client: pg.Client) =>
  (await client.query<{ name: string }>(
    "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'effect_sql_migrations' ORDER BY 1"
  )).rows.map((r) => r.name).join(", ")

/** Drops every database of this file (setupFiles' afterAll). */
export const closeFileDatabases = async () => {
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
  const { adminUrl, prefix, tables } = current()
  const url = fileDatabaseUrl()
  const intact = await withClient(url, async (client) => {
    if (await tableList(client) !== tables) return false
    await client.query(`TRUNCATE ${tables} RESTART IDENTITY CASCADE`)
    return true
  })
  if (!intact) {
    await adminQuery(adminUrl, `DROP DATABASE ${prefix} WITH (FORCE)`)
    await clone(prefix)
  }
  return url
}

const register = (databasePath: string) => {
  const databases = current()
  const name = `${databases.prefix}_${databases.byPath.size}`
  databases.byPath.set(databasePath, name)
  return name
}

/** The PostgreSQL URL standing for DATABASE_PATH `databasePath` (see the top of this file). */
export const databaseUrlFor = async (databasePath: string) => {
  const databases = current()
  if (databasePath === ":memory:") return emptied()
  let name = databases.byPath.get(databasePath)
  if (name === undefined) {
    name = register(databasePath)
    await clone(name)
  }
  return withDatabase(databases.adminUrl, name)
}

/** A database with no tables standing for DATABASE_PATH `databasePath`: for an older release's schema. */
export const emptyDatabaseFor = async (databasePath: string) => {
  const name = register(databasePath)
  await clone(name, "template0")
  return withDatabase(current().adminUrl, name)
}
