/**
 * Issue 13's guarantees across replicas, on a real PostgreSQL: two service graphs on one database, each with
 * its own pool, group commit, Inbox and in-memory Twilio, stand for two processes. Their writes interleave for
 * real (every statement is network I/O). The multi-process proof is `npm run reliability:concurrent -- --postgres`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Ingest } from "../../src/messaging/Ingest.js"
import { Replies } from "../../src/messaging/Replies.js"
import { Sending } from "../../src/messaging/Sending.js"
import type { Address } from "../../src/domain/Address.js"
import type { MessageStatus } from "../../src/domain/Message.js"
import { Database } from "../../src/storage/Database.js"
import { MessageStore } from "../../src/storage/MessageStore.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { AsyncSendLayer } from "../agent/support.js"
import type { AppConfigShape } from "../../src/config/AppConfig.js"
import { alice, messageSid, ours } from "../unit/support.js"

type Graph = Context.Context<Layer.Layer.Success<ReturnType<typeof AsyncSendLayer>>>

let databases = 0

/** Two graphs ("replicas") on one fresh database of this file. */
const replicas = (overrides: Partial<AppConfigShape> = {}) =>
  Effect.gen(function*() {
    const databasePath = `replicas-${++databases}`
    const a = yield* Layer.build(AsyncSendLayer({ ...overrides, databasePath }))
    const b = yield* Layer.build(AsyncSendLayer({ ...overrides, databasePath }))
    return { a, b }
  })

const on = <A, E>(graph: Graph, effect: Effect.Effect<A, E, any>) => Effect.provide(effect, graph) as Effect.Effect<A, E>

const query = <A extends object>(graph: Graph, statement: string) =>
  on(graph, Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A>(statement)))

const inboundOn = (graph: Graph, sid: string, from: string, body = "hi") =>
  on(graph, Effect.flatMap(Ingest, (m) => m.inbound({ sid, from: from as never, to: ours as string as Address, body, media: [], extra: {} })))

const statusOn = (graph: Graph, sid: string, status: MessageStatus) =>
  on(graph, Effect.flatMap(Ingest, (m) => m.status({ sid, status, at: new Date().toISOString() })))

describe("two replicas on one PostgreSQL", () => {
  // README: a write waits 10 s at most for the lock; a process stopped mid-transaction loses it after 15 s.
  it.live("a replica stopped while holding the write lock: the other's writes fail after 10 s instead of hanging, and go through once PostgreSQL ends the stopped one's session (15 s)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* replicas()
      const holding = yield* Deferred.make<void>()
      // A takes the write lock and goes quiet, as a frozen or cut-off process would.
      yield* on(a, Effect.flatMap(Database, (database) => database.writeTransaction(Effect.zipRight(Deferred.succeed(holding, undefined), Effect.never)))).pipe(
        Effect.forkScoped
      )
      yield* Deferred.await(holding)
      const startedAt = Date.now()
      const refused = yield* Effect.either(inboundOn(b, messageSid(0x7400), alice))
      const refusedAfter = Date.now() - startedAt
      expect(Either.isLeft(refused) && refused.left).toMatchObject({ _tag: "StorageError" })
      expect(refusedAfter).toBeGreaterThanOrEqual(9_500)
      expect(refusedAfter).toBeLessThan(13_000)
      // The next write waits again, and gets the lock when A's session is ended 15 s after it went quiet.
      const stored = yield* inboundOn(b, messageSid(0x7401), alice)
      expect(stored.duplicate).toBe(false)
      expect(Date.now() - startedAt).toBeLessThan(19_000)
      expect(yield* query(b, "SELECT sid FROM messages")).toEqual([{ sid: messageSid(0x7401) }])
    })), 40_000)

  it.live("an inbound message delivered to both at once is stored once; exactly one of them stores it", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* replicas()
      const sids = Array.from({ length: 40 }, (_, i) => messageSid(0x7000 + i))
      const outcomes = yield* Effect.forEach(sids, (sid) =>
        Effect.all([inboundOn(a, sid, alice), inboundOn(b, sid, alice)], { concurrency: 2 }), { concurrency: 10 })
      for (const [first, second] of outcomes) expect([first.duplicate, second.duplicate].sort()).toEqual([false, true])
      expect(yield* query(a, "SELECT COUNT(*)::int AS n, COUNT(DISTINCT sid)::int AS d FROM messages")).toEqual([{ n: 40, d: 40 }])
      // One thread for the one participant set, whichever replica created it.
      expect(yield* query(a, "SELECT COUNT(*)::int AS n FROM conversations")).toEqual([{ n: 1 }])
    })))

  it.live("new senders writing to both at once get one thread per participant set", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* replicas()
      const senders = Array.from({ length: 20 }, (_, i) => `+1555777${String(i).padStart(4, "0")}`)
      yield* Effect.forEach(senders, (from, i) =>
        Effect.all([inboundOn(a, messageSid(0x8000 + 2 * i), from), inboundOn(b, messageSid(0x8001 + 2 * i), from)], { concurrency: 2 }), {
        concurrency: 10
      })
      expect(yield* query(a, "SELECT COUNT(*)::int AS n, COUNT(DISTINCT participant_key)::int AS d FROM conversations")).toEqual([{ n: 20, d: 20 }])
      expect(yield* query(a, "SELECT COUNT(DISTINCT conversation_id)::int AS n FROM messages")).toEqual([{ n: 20 }])
    })))

  it.live("status callbacks split across replicas and out of order, some before the send is stored: once each, the highest wins", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* replicas()
      const sent = yield* on(a, Effect.flatMap(Sending, (m) => m.send({ to: alice, message: "one" })))
      const sid = (sent as { messageSid: string }).messageSid
      const order = ["delivered", "sent", "queued", "delivered", "sent", "queued"] as const
      yield* Effect.forEach(order, (status, i) => statusOn(i % 2 === 0 ? a : b, sid, status), { concurrency: "unbounded" })
      expect(yield* query(b, `SELECT status FROM messages WHERE sid = '${sid}'`)).toEqual([{ status: "delivered" }])
      expect(yield* query(b, `SELECT status FROM message_events WHERE message_sid = '${sid}' ORDER BY status_rank`)).toEqual([
        { status: "queued" },
        { status: "sent" },
        { status: "delivered" }
      ])

      // Callbacks that beat the send's own store, on the other replica: whichever commits first, the message
      // ends delivered.
      for (let round = 0; round < 10; round++) {
        const early = messageSid(0x9000 + round)
        const store = on(a, Effect.flatMap(Database, (d) =>
          d.writeTransaction(Effect.flatMap(MessageStore, (m) =>
            m.insertMany([{ sid: early, direction: "outbound", from: ours as string as Address, to: alice as string as Address, body: "early", status: "queued", conversationId: null }], new Date().toISOString())))))
        yield* Effect.all([statusOn(b, early, "delivered"), statusOn(a, early, "sent"), store], { concurrency: "unbounded" })
        expect(yield* query(b, `SELECT status FROM messages WHERE sid = '${early}'`)).toEqual([{ status: "delivered" }])
      }
    })))

  it.live("SMS_MAX_PER_HOUR holds across replicas: 10 sends at once on two replicas, cap 3, exactly 3 reach Twilio", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* replicas({ maxPerHour: 3 })
      const results = yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) =>
        on(i % 2 === 0 ? a : b, Effect.either(Effect.flatMap(Sending, (m) => m.send({ to: alice, message: `n${i}` })))), {
        concurrency: "unbounded"
      })
      const sentA = yield* on(a, Effect.flatMap(TwilioMemory, (t) => t.sent))
      const sentB = yield* on(b, Effect.flatMap(TwilioMemory, (t) => t.sent))
      expect(sentA.length + sentB.length).toBe(3)
      expect(results.filter((r) => r._tag === "Right")).toHaveLength(3)
      for (const r of results) if (r._tag === "Left") expect(r.left).toMatchObject({ _tag: "SendRefused", rule: "SMS_MAX_PER_HOUR" })
    })))

  it.live("an idempotency key raced on both replicas sends once; the other call replays it or says it is in progress", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* replicas()
      const results = yield* Effect.forEach([a, b, a, b], (graph) =>
        on(graph, Effect.either(Effect.flatMap(Sending, (m) => m.send({ to: alice, message: "once", idempotencyKey: "order-42" })))), {
        concurrency: "unbounded"
      })
      const sentA = yield* on(a, Effect.flatMap(TwilioMemory, (t) => t.sent))
      const sentB = yield* on(b, Effect.flatMap(TwilioMemory, (t) => t.sent))
      expect(sentA.length + sentB.length).toBe(1)
      const sid = [...sentA, ...sentB][0]!.sid
      for (const r of results) {
        if (r._tag === "Right") expect(r.right.messageSid).toBe(sid)
        else expect(r.left).toMatchObject({ _tag: "SendInProgress", idempotencyKey: "order-42" })
      }
      expect(yield* query(b, "SELECT COUNT(*)::int AS n FROM messages")).toEqual([{ n: 1 }])
    })))

  it.live("a STOP received by one replica refuses the next send on the other at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* replicas()
      yield* inboundOn(a, messageSid(0xa001), alice, "STOP")
      const refused = yield* on(b, Effect.flip(Effect.flatMap(Sending, (m) => m.send({ to: alice, message: "still there?" }))))
      expect(refused).toMatchObject({ _tag: "OptedOut", recipient: alice })
      expect(yield* on(b, Effect.flatMap(TwilioMemory, (t) => t.sent))).toEqual([])
    })))

  it.live("wait_for_reply on one replica wakes within a second of a reply stored by the other (LISTEN/NOTIFY)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* replicas()
      const sent = yield* on(a, Effect.flatMap(Sending, (m) => m.send({ to: alice, message: "Coming?" })))
      const waiter = yield* on(a, Effect.flatMap(Replies, (m) =>
        m.awaitReply({ conversationId: sent.conversationId!, timeoutSeconds: 30 }, () => Effect.void))).pipe(Effect.fork)
      // Long enough for the waiter to have looked once and be listening.
      yield* Effect.sleep("300 millis")
      const replied = Date.now()
      yield* inboundOn(b, messageSid(0xb001), alice, "Yes")
      const result = yield* waiter.await.pipe(Effect.flatten)
      expect(Date.now() - replied).toBeLessThan(1_000)
      expect(result).toMatchObject({ status: "reply", messages: [{ messageSid: messageSid(0xb001), body: "Yes" }] })
    })))

  it.live("the start-up catch-up runs in one replica at a time (a session advisory lock, released after)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* replicas()
      const ran: Array<string> = []
      const task = (name: string) => Effect.zipRight(Effect.sync(() => ran.push(name)), Effect.sleep("200 millis"))
      const [first, second] = yield* Effect.all([
        on(a, Effect.flatMap(Database, (d) => d.exclusive("catch-up", task("a")))),
        Effect.zipRight(Effect.sleep("50 millis"), on(b, Effect.flatMap(Database, (d) => d.exclusive("catch-up", task("b")))))
      ], { concurrency: 2 })
      expect([Option.isSome(first), Option.isSome(second)]).toEqual([true, false])
      expect(ran).toEqual(["a"])
      // Released with its connection still in the pool: the next run takes it.
      expect(Option.isSome(yield* on(b, Effect.flatMap(Database, (d) => d.exclusive("catch-up", task("b")))))).toBe(true)
    })))
})
