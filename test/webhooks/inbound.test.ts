import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { ConversationId } from "../../src/domain/Conversation.js"
import type { PhoneNumber } from "../../src/domain/Address.js"
import { Conversations } from "../../src/messaging/Conversations.js"
import { Replies } from "../../src/messaging/Replies.js"
import { TEST_PHONE } from "../support/TestLayer.js"
import {
  ALICE,
  countRows,
  expectTwiml,
  inboundParams,
  postInbound,
  sendTo,
  sid,
  stored,
  withLoggedServer,
  withServer
} from "./harness.js"

const threadOf = (conversationId: string) =>
  Effect.flatMap(Conversations, (m) =>
    m.thread({ conversationId: conversationId as ConversationId, includeContext: false, limit: 50 }))

describe("inbound SMS webhook", () => {
  it.live("answers the empty TwiML, stores the message once and threads it with the outbound send", () =>
    Effect.gen(function*() {
      const sent = yield* sendTo(ALICE, "Are you coming?")
      const inboundSid = sid(1)

      expectTwiml(yield* postInbound(inboundParams(inboundSid, { Body: "Yes, at 6" })))

      expect(yield* countRows("messages")).toBe(2)
      const message = yield* stored(inboundSid)
      expect(message).toMatchObject({
        direction: "inbound",
        from: ALICE,
        to: TEST_PHONE,
        body: "Yes, at 6",
        status: "received",
        numSegments: 1,
        conversationId: sent.conversationId
      })
      const thread = yield* threadOf(sent.conversationId)
      expect(thread.participants).toEqual([TEST_PHONE, ALICE].sort())
      expect(thread.messages.map((m) => [m.messageSid, m.direction])).toEqual([
        [sent.messageSid, "outbound"],
        [inboundSid, "inbound"]
      ])
    }).pipe(withServer()))

  it.live("a redelivered webhook is answered 200 both times and stored once", () =>
    Effect.gen(function*() {
      const params = inboundParams(sid(2))
      expectTwiml(yield* postInbound(params))
      expectTwiml(yield* postInbound(params))
      expect(yield* countRows("messages")).toBe(1)
      expect(yield* countRows("conversations")).toBe(1)
      const listed = yield* Effect.flatMap(Replies, (m) => m.inbound({ limit: 10 }))
      expect(listed.totalCount).toBe(1)
    }).pipe(withServer()))

  it.live("a redelivery changes nothing the first delivery did: no activity bump, no opt-out event, logged as a duplicate", () => {
    const logs = withLoggedServer()
    return Effect.gen(function*() {
      const stop = inboundParams(sid(3), { Body: "STOP" })
      expectTwiml(yield* postInbound(stop))
      const sql = yield* SqlClient.SqlClient
      const state = sql<{ activity: string; optedOut: number; changedAt: string }>`
        SELECT c.last_activity_at AS activity, o.opted_out AS "optedOut", o.updated_at AS "changedAt"
        FROM conversations c, opt_outs o`
      const first = yield* state
      // Time passes (a redelivery comes seconds later); the sender opts back in meanwhile.
      yield* Effect.sleep("5 millis")
      expectTwiml(yield* postInbound(inboundParams(sid(4), { Body: "START" })))
      const afterStart = yield* state
      yield* Effect.sleep("5 millis")
      expectTwiml(yield* postInbound(stop))
      // The old STOP, delivered again, neither opts the sender out again nor moves the thread.
      expect(yield* state).toEqual(afterStart)
      expect(afterStart[0]!.optedOut).toBe(0)
      expect(afterStart[0]!.activity > first[0]!.activity).toBe(true)
      yield* logs.logged(new RegExp(`^DEBUG inbound message ${sid(3)} duplicate$`))
      expect(logs.lines().filter((l) => l.includes(`inbound message ${sid(3)}`))).toEqual([
        `DEBUG inbound message ${sid(3)} stored`,
        `DEBUG inbound message ${sid(3)} duplicate`
      ])
    }).pipe(logs.provide)
  })

  it.live("concurrent webhooks (committed in shared batches): redeliveries and new senders, each stored once, one thread per sender", () =>
    Effect.gen(function*() {
      const senders = ["+15551230101", "+15551230102", "+15551230103", "+15551230104"]
      const posts = Array.from({ length: 40 }, (_, i) => inboundParams(sid(100 + (i % 20)), { From: senders[i % 4]! }))
      const replies = yield* Effect.all(posts.map((params) => postInbound(params)), { concurrency: "unbounded" })
      replies.forEach(expectTwiml)
      expect(yield* countRows("messages")).toBe(20)
      expect(yield* countRows("conversations")).toBe(4)
    }).pipe(withServer()))

  it.live("stores MMS media (MediaUrlN + MediaContentTypeN) and returns it as `media`", () =>
    Effect.gen(function*() {
      const media = [
        { url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", contentType: "image/jpeg" },
        { url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", contentType: "application/pdf" }
      ]
      const mmsSid = sid(3, "MM")
      expectTwiml(yield* postInbound(inboundParams(mmsSid, {
        Body: "",
        NumMedia: "2",
        MediaUrl0: media[0]!.url,
        MediaContentType0: media[0]!.contentType,
        MediaUrl1: media[1]!.url,
        MediaContentType1: media[1]!.contentType
      })))
      expect((yield* stored(mmsSid)).media).toEqual(media)
      const listed = yield* Effect.flatMap(Replies, (m) => m.inbound({ limit: 10 }))
      expect(listed.messages[0]).toMatchObject({ messageSid: mmsSid, body: "", media })
    }).pipe(withServer()))

  it.live("keeps parameters Twilio adds without notice, and accepts a charset in the Content-Type", () =>
    Effect.gen(function*() {
      const params = inboundParams(sid(4), { OptOutType: "STOP", Body: "STOP", AddOns: "{\"status\":\"successful\"}", BrandNewField: "x" })
      expectTwiml(yield* postInbound(params, { contentType: "Application/X-WWW-Form-Urlencoded; charset=UTF-8" }))
      const [row] = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ extra: string }>`SELECT extra FROM messages WHERE sid = ${sid(4)}`)
      expect(JSON.parse(row!.extra)).toMatchObject({ OptOutType: "STOP", AddOns: params.AddOns, BrandNewField: "x", FromCity: "SAN FRANCISCO" })
    }).pipe(withServer()))

  it.live("a UTF-8 body (accents, emoji, GSM extended characters) is verified and stored as sent", () =>
    Effect.gen(function*() {
      const body = "Crème brûlée à 5€ ? {oui} 👍🏽 ".repeat(100)
      expectTwiml(yield* postInbound(inboundParams(sid(5), { Body: body, NumSegments: "40" })))
      expect(yield* stored(sid(5))).toMatchObject({ body, numSegments: 40 })
    }).pipe(withServer()))

  describe("non-E.164 senders are stored and threaded", () => {
    const senders = [
      { name: "short code", from: "12345", to: TEST_PHONE },
      { name: "alphanumeric sender ID", from: "ACME", to: TEST_PHONE },
      { name: "WhatsApp", from: "whatsapp:+15551234567", to: `whatsapp:${TEST_PHONE}` }
    ]
    senders.forEach(({ from, name, to }, i) =>
      it.live(`${name} (${from})`, () =>
        Effect.gen(function*() {
          const first = sid(10 + i)
          const second = sid(20 + i)
          expectTwiml(yield* postInbound(inboundParams(first, { From: from, To: to })))
          expectTwiml(yield* postInbound(inboundParams(second, { From: from, To: to, Body: "again" })))
          const message = yield* stored(first)
          expect(message).toMatchObject({ from, to, direction: "inbound" })
          expect(message.conversationId).not.toBeNull()
          const thread = yield* threadOf(message.conversationId!)
          expect(thread.participants).toEqual([from, to].sort())
          expect(thread.messages.map((m) => m.messageSid)).toEqual([first, second])
        }).pipe(withServer())))
  })

  describe("with AUTO_CREATE_CONVERSATIONS=false", () => {
    const manual = withServer({ autoCreateConversations: false })

    it.live("an inbound message with no thread is stored unthreaded, never dropped", () =>
      Effect.gen(function*() {
        expectTwiml(yield* postInbound(inboundParams(sid(30))))
        expect((yield* stored(sid(30))).conversationId).toBeNull()
        expect(yield* countRows("conversations")).toBe(0)
        const listed = yield* Effect.flatMap(Replies, (m) => m.inbound({ from: ALICE, limit: 10 }))
        expect(listed.messages.map((m) => m.messageSid)).toEqual([sid(30)])
      }).pipe(manual))

    it.live("an inbound message joins a conversation created explicitly", () =>
      Effect.gen(function*() {
        const created = yield* Effect.flatMap(Conversations, (m) => m.createConversation([ALICE as PhoneNumber, TEST_PHONE], undefined))
        expectTwiml(yield* postInbound(inboundParams(sid(31))))
        expect((yield* stored(sid(31))).conversationId).toBe(created.conversationId)
      }).pipe(manual))
  })
})
