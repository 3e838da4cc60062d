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

const packageVersion = (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version

/** Runs raw SQL against the server's own database: how a test breaks storage underneath it. */
const execute = (statement: string) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement))

const healthz = Effect.map(request("/healthz"), (reply) => ({ ...reply, json: JSON.parse(reply.body) as Record<string, unknown> }))

describe("GET /healthz", () => {
  it.live("200 JSON: status ok, the package version, uptime and database ok", () =>
    Effect.gen(function*() {
      const reply = yield* healthz
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(/^application\/json\b/)
      expect(reply.json).toEqual({ status: "ok", version: packageVersion, uptimeSeconds: expect.any(Number), database: "ok" })
      expect(Number.isInteger(reply.json.uptimeSeconds)).toBe(true)
      expect(reply.json.uptimeSeconds).toBeGreaterThanOrEqual(0)
    }).pipe(withServer()))

  it.live("503 with status unavailable when the database is unusable", () =>
    Effect.gen(function*() {
      yield* execute("DROP TABLE conversations")
      const reply = yield* healthz
      expectRefused(reply, 503)
      expect(reply.json).toMatchObject({ status: "unavailable", version: packageVersion })
    }).pipe(withServer()))
})

describe("storage failures answer 503 (Twilio does not retry it; its own record is the catch-up source)", () => {
  it.live("an inbound message while the database is read-only: 503, nothing half-written, and 200 once it recovers", () =>
    Effect.gen(function*() {
      yield* execute("PRAGMA query_only = ON")
      const reply = yield* postInbound(inboundParams(sid(1)))
      expectRefused(reply, 503)
      yield* execute("PRAGMA query_only = OFF")
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
