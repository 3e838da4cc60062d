import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import {
  countRows,
  expectRefused,
  expectTwiml,
  inboundParams,
  postInbound,
  postStatus,
  request,
  sid,
  statusParams,
  withServer
} from "./harness.js"
import { onPostgres } from "../support/Dialect.js"

const packageVersion = (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version

/** Runs raw SQL against the server's own database: how a test breaks storage underneath it. */
const execute = (statement: string | { readonly sqlite: string; readonly pg: string }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(typeof statement === "string" ? statement : sql.onDialectOrElse({ pg: () => statement.pg, orElse: () => statement.sqlite })))

/**
 * Every connection read-only, or writable again. On PostgreSQL: the database's default for new sessions,
 * this session's own, and every other session of the pool ended so that it reconnects with it.
 */
const readOnly = (on: boolean) =>
  execute({
    sqlite: `PRAGMA query_only = ${on ? "ON" : "OFF"}`,
    pg: `
      BEGIN READ WRITE;
      DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = ${on}', current_database()); END $$;
      COMMIT;
      SET SESSION default_transaction_read_only = ${on};
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`
  })

const healthz = Effect.map(request("/healthz"), (reply) => ({ ...reply, json: JSON.parse(reply.body) as Record<string, unknown> }))

describe("GET /healthz", () => {
  it.live("200 JSON: status ok, the package version, uptime and database ok", () =>
    Effect.gen(function*() {
      const reply = yield* healthz
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(/^application\/json\b/)
      expect(reply.json).toEqual({
        status: "ok",
        version: packageVersion,
        uptimeSeconds: expect.any(Number),
        database: "ok",
        storage: {
          engine: onPostgres ? "postgresql" : "sqlite",
          version: expect.stringMatching(/^\d+\.\d+/),
          migration: "0008_inbound_fetch"
        }
      })
      expect(Number.isInteger(reply.json.uptimeSeconds)).toBe(true)
      expect(reply.json.uptimeSeconds).toBeGreaterThanOrEqual(0)
    }).pipe(withServer()))

  it.live("503 with status unavailable when the database is unusable", () =>
    Effect.gen(function*() {
      yield* execute({ sqlite: "DROP TABLE conversations", pg: "DROP TABLE conversations CASCADE" })
      const reply = yield* healthz
      expectRefused(reply, 503)
      expect(reply.json).toMatchObject({ status: "unavailable", version: packageVersion })
    }).pipe(withServer()))
})

describe("storage failures answer 503 (Twilio does not retry it; its own record is the catch-up source)", () => {
  it.live("an inbound message while the database is read-only: 503, nothing half-written, and 200 once it recovers", () =>
    Effect.gen(function*() {
      yield* readOnly(true)
      const reply = yield* postInbound(inboundParams(sid(1)))
      expectRefused(reply, 503)
      yield* readOnly(false)
      expect(yield* countRows("messages")).toBe(0)
      expect(yield* countRows("conversations")).toBe(0)
      expectTwiml(yield* postInbound(inboundParams(sid(1))))
      expect(yield* countRows("messages")).toBe(1)
    }).pipe(withServer()))

  it.live("an inbound message when the messages table is gone: 503", () =>
    Effect.gen(function*() {
      yield* execute("DROP TABLE messages")
      expectRefused(yield* postInbound(inboundParams(sid(2))), 503)
      expect(yield* countRows("conversations")).toBe(0)
    }).pipe(withServer()))

  it.live("a status callback when the events table is gone: 503", () =>
    Effect.gen(function*() {
      yield* execute("DROP TABLE message_events")
      expectRefused(yield* postStatus(statusParams(sid(3), "delivered")), 503)
    }).pipe(withServer()))
})
