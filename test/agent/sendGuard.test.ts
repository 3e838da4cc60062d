/**
 * The send guard (issue 4, item 5): SMS_ALLOWED_RECIPIENTS, SMS_MAX_PER_HOUR (service and environment), and
 * idempotency keys.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TestClock from "effect/TestClock"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { parseConfig } from "../../src/config/LoadConfig.js"
import { SendGuard } from "../../src/messaging/SendGuard.js"
import { InboundFetcher } from "../../src/messaging/InboundFetcher.js"
import { WhatsApp } from "../../src/messaging/WhatsApp.js"
import { Sending } from "../../src/messaging/Sending.js"
import { Threading } from "../../src/messaging/Threading.js"
import { Database } from "../../src/storage/Database.js"
import { MessageStore } from "../../src/storage/MessageStore.js"
import { OptOuts } from "../../src/storage/OptOuts.js"
import { SendKeys } from "../../src/storage/SendKeys.js"
import { SendLog } from "../../src/storage/SendLog.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { TwilioApiError, TwilioUnreachable } from "../../src/twilio/TwilioErrors.js"
import { onPostgres } from "../support/Dialect.js"
import { testConfig, testConfigLayer, TestLayer } from "../support/TestLayer.js"
import { alice, bob, carol, tempDatabase } from "../unit/support.js"
import { AsyncSendLayer, callError, callOk, failNext, inbound, refusedSend, sendSms, sentByTwilio } from "./support.js"

const uk = "+447700900123"

/** A send the guard must refuse under `rule`, with nothing sent. */
const expectRefused = (to: string, rule: string) =>
  Effect.map(refusedSend(to), (error) => {
    expect(error).toMatchObject({ _tag: "SendRefused", rule })
    expect(error.message).toContain(rule)
    return error
  })

describe("SMS_ALLOWED_RECIPIENTS", () => {
  it.effect("allows listed numbers and +CC prefixes and refuses the rest, naming the rule", () =>
    Effect.gen(function*() {
      yield* sendSms({ to: alice })
      yield* sendSms({ to: uk as never })
      const error = yield* expectRefused(bob, "SMS_ALLOWED_RECIPIENTS")
      expect(error.message).toContain(bob)
      expect(yield* callError("send_sms", { to: carol, message: "hi" })).toContain("SMS_ALLOWED_RECIPIENTS")
      expect((yield* sentByTwilio).map((m) => m.to)).toEqual([alice, uk])
    }).pipe(Effect.provide(TestLayer({ allowedRecipients: [alice, "+44"] }))))

  it.effect("a +1 prefix allows every +1 number, not others", () =>
    Effect.gen(function*() {
      yield* sendSms({ to: bob })
      yield* sendSms({ to: carol })
      yield* expectRefused(uk, "SMS_ALLOWED_RECIPIENTS")
    }).pipe(Effect.provide(TestLayer({ allowedRecipients: ["+1"] }))))
})

describe("SMS_MAX_PER_HOUR", () => {
  it.effect("refuses the send over the cap, counting outbound only, until the hour has passed", () =>
    Effect.gen(function*() {
      yield* sendSms({ to: alice })
      yield* inbound(bob, "received texts do not count")
      yield* sendSms({ to: bob })
      const error = yield* expectRefused(carol, "SMS_MAX_PER_HOUR")
      expect(error.message).toContain("2")
      expect(yield* callError("send_sms", { to: carol, message: "hi" })).toContain("SMS_MAX_PER_HOUR")

      yield* TestClock.adjust("60 minutes")
      yield* expectRefused(carol, "SMS_MAX_PER_HOUR")
      yield* TestClock.adjust("1 millis")
      yield* sendSms({ to: carol })
      expect(yield* sentByTwilio).toHaveLength(3)
    }).pipe(Effect.provide(TestLayer({ maxPerHour: 2 }))))

  // Two processes on one database pass the pre-check together (each counts 0 of 1); only the count taken again
  // inside the reservation's write transaction keeps the second from sending.
  it.scopedLive("two processes racing past the pre-check cannot exceed the cap together", () =>
    Effect.gen(function*() {
      const databasePath = yield* tempDatabase("cap.db")
      /** Each process's arrival at a point, released once both arrived (or, with `patience`, after it). */
      const meeting = (patience?: Duration.DurationInput) =>
        Effect.gen(function*() {
          const arrived = yield* Ref.make(0)
          const both = yield* Deferred.make<void>()
          const wait = patience === undefined ? Deferred.await(both) : Effect.ignore(Effect.timeout(Deferred.await(both), patience))
          return Effect.flatMap(Ref.updateAndGet(arrived, (n) => n + 1), (n) =>
            Effect.zipRight(n === 2 ? Deferred.succeed(both, undefined) : Effect.void, wait))
        })
      const atPreCheck = yield* meeting()
      // Inside the reservation, each process waits a moment for the other to have counted too: with the
      // count and the insert in one write transaction the other cannot (it waits for the lock), without it
      // both count 0 and both send. Only on PostgreSQL: there a process waiting for the lock leaves the event
      // loop free, where SQLite's busy wait would hold this one's thread.
      const atReservation = onPostgres ? yield* meeting("300 millis") : Effect.void
      const process = () => capRaceGraph(databasePath, atPreCheck, atReservation)
      const [one, two] = yield* Effect.all([
        Effect.either(sendSms({ to: alice }).pipe(Effect.provide(process()))),
        Effect.either(sendSms({ to: bob }).pipe(Effect.provide(process())))
      ], { concurrency: "unbounded" })
      expect([one, two].filter(Either.isRight)).toHaveLength(1)
      expect([one, two].filter(Either.isLeft)).toMatchObject([{ left: { _tag: "SendRefused", rule: "SMS_MAX_PER_HOUR" } }])
      const sent = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT COUNT(*) AS n FROM messages`).pipe(
        Effect.provide(TestLayer({ databasePath }))
      )
      expect(sent[0]!.n).toBe(1)
    }))
})

/**
 * One process's service graph for the cap race: everything as usual, but its send guard's first count of the
 * send log (the pre-check) waits at `atPreCheck` once it has counted, and the second (inside the
 * reservation) at `atReservation`.
 */
const capRaceGraph = (databasePath: string, atPreCheck: Effect.Effect<void>, atReservation: Effect.Effect<void>) => {
  const gatedSendLog = Layer.effect(
    SendLog,
    Effect.gen(function*() {
      const real = yield* SendLog
      let counts = 0
      return SendLog.make({
        ...real,
        countSince: (since) => {
          counts += 1
          const gate = counts === 1 ? atPreCheck : counts === 2 ? atReservation : Effect.void
          return Effect.tap(real.countSince(since), () => gate)
        }
      })
    })
  ).pipe(Layer.provide(SendLog.Default))
  const guard = SendGuard.DefaultWithoutDependencies.pipe(Layer.provide(Layer.mergeAll(gatedSendLog, OptOuts.Default, Database.Default)))
  return Sending.DefaultWithoutDependencies.pipe(
    Layer.provide(Layer.mergeAll(
      guard,
      MessageStore.Default,
      Threading.Default,
      OptOuts.Default,
      SendKeys.Default,
      Database.Default,
      InboundFetcher.Default,
      WhatsApp.Default
    )),
    Layer.provide(TwilioMemory.layer),
    Layer.provide(testConfigLayer(testConfig({ databasePath, maxPerHour: 1 })))
  )
}

describe("send guard from the environment", () => {
  const env = {
    TWILIO_ACCOUNT_SID: `AC${"0123456789abcdef".repeat(2)}`,
    TWILIO_AUTH_TOKEN: "s3cr3t-token-0123456789abcdef-xyz",
    TWILIO_PHONE_NUMBER: "+15551234567",
    WEBHOOK_BASE_URL: "https://abc123.ngrok.io"
  }
  const parse = (extra: Record<string, string>) => parseConfig({ ...env, ...extra }, { sandbox: false })
  const problems = (extra: Record<string, string>) =>
    Either.match(parse(extra), { onLeft: (e) => e.problems, onRight: () => expect.fail(`${JSON.stringify(extra)} was accepted`) })

  it("is off by default", () => {
    expect(Either.getOrThrow(parse({}))).toMatchObject({ allowedRecipients: undefined, maxPerHour: undefined })
  })

  it("parses SMS_ALLOWED_RECIPIENTS (numbers and +CC prefixes, comma separated) and SMS_MAX_PER_HOUR", () => {
    expect(Either.getOrThrow(parse({ SMS_ALLOWED_RECIPIENTS: "+15551230001, +44,+353", SMS_MAX_PER_HOUR: "25" }))).toMatchObject({
      allowedRecipients: ["+15551230001", "+44", "+353"],
      maxPerHour: 25
    })
  })

  it.each(["15551230001", "+1555-123-0001", "+44,uk", "+15551230001;+44"])("reports SMS_ALLOWED_RECIPIENTS=%j", (value) => {
    expect(problems({ SMS_ALLOWED_RECIPIENTS: value }).join("\n")).toMatch(/^SMS_ALLOWED_RECIPIENTS .*E\.164/m)
  })

  it.each(["0", "-1", "ten", "1.5"])("reports SMS_MAX_PER_HOUR=%j", (value) => {
    expect(problems({ SMS_MAX_PER_HOUR: value }).join("\n")).toMatch(/^SMS_MAX_PER_HOUR /m)
  })

  it("reports both at once", () => {
    const found = problems({ SMS_ALLOWED_RECIPIENTS: "nope", SMS_MAX_PER_HOUR: "nope" })
    expect(found.filter((p) => p.startsWith("SMS_ALLOWED_RECIPIENTS "))).toHaveLength(1)
    expect(found.filter((p) => p.startsWith("SMS_MAX_PER_HOUR "))).toHaveLength(1)
  })
})

const keyed = (key: string, to = alice) => sendSms({ to, idempotencyKey: key })

describe("idempotencyKey", () => {
  it.effect("the same key twice sends once; the second call returns the first result with replayed: true", () =>
    Effect.gen(function*() {
      const first = yield* keyed("order-1")
      const second = yield* keyed("order-1")
      expect(first).not.toHaveProperty("replayed")
      expect(second).toEqual({ ...first, replayed: true })
      expect(yield* sentByTwilio).toHaveLength(1)
      // Another key is another send.
      yield* keyed("order-2")
      expect(yield* sentByTwilio).toHaveLength(2)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("through the tool, a replay stores nothing more", () =>
    Effect.gen(function*() {
      const first = yield* callOk("send_sms", { to: alice, message: "hi", idempotencyKey: "t-1" })
      const again = yield* callOk("send_sms", { to: alice, message: "hi", idempotencyKey: "t-1" })
      expect(again).toEqual({ ...first, replayed: true })
      const thread = yield* callOk("get_conversation_thread", { conversationId: first.conversationId })
      expect(thread.messages).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("concurrent sends with one key send exactly once", () =>
    Effect.gen(function*() {
      const results = yield* Effect.all(Array.from({ length: 5 }, () => Effect.either(keyed("burst"))), { concurrency: "unbounded" })
      expect(yield* sentByTwilio).toHaveLength(1)
      const sid = (yield* sentByTwilio)[0]!.sid
      for (const result of results) {
        if (Either.isRight(result)) expect(result.right.messageSid).toBe(sid)
        else expect(result.left._tag).toBe("SendInProgress")
      }
      expect(results.filter(Either.isRight).filter((r) => r.right.replayed !== true)).toHaveLength(1)
      // The sends overlapped: the others found the key reserved and unfinished. (On PostgreSQL each call's
      // statements take their turn on the pool's connections in an order the test does not set: the first may
      // finish before the others look, and they replay it. Exactly once holds either way.)
      if (!onPostgres) expect(results.filter(Either.isLeft)).not.toHaveLength(0)
    }).pipe(Effect.provide(AsyncSendLayer())))

  it.effect("a clear Twilio refusal releases the key: a retry with it sends", () =>
    Effect.gen(function*() {
      yield* failNext(new TwilioApiError({ operation: "send", httpStatus: 400, code: 21211, detail: "Invalid 'To' Phone Number" }))
      expect((yield* Effect.flip(keyed("retry-me")))._tag).toBe("TwilioApiError")
      const retried = yield* keyed("retry-me")
      expect(retried).not.toHaveProperty("replayed")
      expect((yield* sentByTwilio).map((m) => m.sid)).toEqual([retried.messageSid])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an ambiguous failure keeps the key held: a retry is SendInProgress and sends nothing", () =>
    Effect.gen(function*() {
      yield* failNext(new TwilioUnreachable({ operation: "send", reason: "request timed out", mayHaveSent: true }))
      expect((yield* Effect.flip(keyed("maybe-sent")))._tag).toBe("TwilioUnreachable")
      const error = yield* Effect.flip(keyed("maybe-sent"))
      expect(error).toMatchObject({ _tag: "SendInProgress", idempotencyKey: "maybe-sent" })
      expect(yield* callError("send_sms", { to: alice, message: "hello", idempotencyKey: "maybe-sent" })).toContain("maybe-sent")
      expect(yield* sentByTwilio).toEqual([])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a send refused by the guard does not hold the key", () =>
    Effect.gen(function*() {
      yield* inbound(alice, "STOP")
      expect((yield* Effect.flip(keyed("opted")))._tag).toBe("OptedOut")
      yield* inbound(alice, "START")
      expect(yield* keyed("opted")).not.toHaveProperty("replayed")
      expect(yield* sentByTwilio).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer())))
})
