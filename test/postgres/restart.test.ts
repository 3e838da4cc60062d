/**
 * A database restart, as the server's connections see it: every session ended by the server. The pool
 * reconnects; a webhook is answered 200 only once stored (503 while the database cannot take it); waiters
 * listening for other processes' messages listen again and miss nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { inject } from "vitest"
import { Ingest } from "../../src/messaging/Ingest.js"
import { Replies } from "../../src/messaging/Replies.js"
import { TestLayer } from "../support/TestLayer.js"
import { adminQuery } from "../support/pgAdmin.js"
import { alice, messageSid, ours } from "../unit/support.js"
import { countRows, inboundParams, postInbound, sid, withServer } from "../webhooks/harness.js"

/** Ends every session of the current database but the caller's own: what a restart does to them. */
const restart = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.flatMap(sql<{ name: string }>`SELECT current_database() AS name`, ([db]) =>
    Effect.promise(() =>
      adminQuery(
        inject("postgres").adminUrl,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db!.name}' AND pid <> pg_backend_pid()`
      )
    )))

describe("a database restart", () => {
  it.live("webhooks: 200 only for what is stored, 503 while it cannot be, 200 again right after", () =>
    Effect.gen(function*() {
      const statuses: Array<number> = []
      for (let round = 0; round < 5; round++) {
        yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => round * 10 + i), (n) =>
          Effect.map(postInbound(inboundParams(sid(n))), (reply) => void (statuses[n] = reply.status)), { concurrency: 10 }).pipe(
          Effect.zipLeft(restart, { concurrent: true })
        )
      }
      const stored = new Set(
        (yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ sid: string }>`SELECT sid FROM messages`)).map((r) => r.sid)
      )
      statuses.forEach((status, n) => {
        expect([200, 503]).toContain(status)
        if (status === 200) expect(stored.has(sid(n)), `acknowledged ${sid(n)} stored`).toBe(true)
      })
      // Once the sessions are gone, the next webhook gets a fresh connection.
      yield* restart
      expect((yield* postInbound(inboundParams(sid(999)))).status).toBe(200)
      expect(yield* countRows("messages")).toBe(stored.size + 1)
    }).pipe(withServer()))

  it.live("wait_for_reply listens again: a reply stored by another replica just after the restart still wakes it", () =>
    Effect.scoped(Effect.gen(function*() {
      const databasePath = "restart-listen"
      const a = yield* Layer.build(TestLayer({ databasePath }))
      const b = yield* Layer.build(TestLayer({ databasePath }))
      const onA = <X, E>(e: Effect.Effect<X, E, any>) => Effect.provide(e, a) as Effect.Effect<X, E>
      const onB = <X, E>(e: Effect.Effect<X, E, any>) => Effect.provide(e, b) as Effect.Effect<X, E>
      const reply = (n: number) =>
        onB(Effect.flatMap(Ingest, (m) =>
          m.inbound({ sid: messageSid(n), from: alice as never, to: ours as never, body: `reply ${n}`, media: [], extra: {} })))
      const wait = onA(Effect.flatMap(Replies, (m) => m.awaitReply({ from: alice, timeoutSeconds: 30 }, () => Effect.void)))

      const first = yield* Effect.fork(wait)
      yield* Effect.sleep("300 millis")
      yield* onA(restart)
      const started = Date.now()
      yield* reply(1)
      expect(yield* first.await.pipe(Effect.flatten)).toMatchObject({ status: "reply", messages: [{ body: "reply 1" }] })
      // The NOTIFY went to a connection that was gone: found once the listener noticed (its heartbeat, 5 s + 2 s).
      expect(Date.now() - started).toBeLessThan(8_000)

      const second = yield* Effect.fork(onA(Effect.flatMap(Replies, (m) =>
        m.awaitReply({ from: alice, since: new Date().toISOString(), timeoutSeconds: 30 }, () => Effect.void))))
      yield* Effect.sleep("300 millis")
      const again = Date.now()
      yield* reply(2)
      expect(yield* second.await.pipe(Effect.flatten)).toMatchObject({ status: "reply", messages: [{ body: "reply 2" }] })
      expect(Date.now() - again).toBeLessThan(1_000)
    })))
})
