import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ConversationStore } from "../../src/storage/ConversationStore.js"
import { normalizeParticipants, participantKey } from "../../src/domain/Address.js"
import { Conversations } from "../../src/messaging/Conversations.js"
import { Ingest } from "../../src/messaging/Ingest.js"
import { Replies } from "../../src/messaging/Replies.js"
import { TestLayer } from "../support/TestLayer.js"
import { Threading } from "../../src/messaging/Threading.js"
import { alice, bob, carol, expectNothingSentOrStored, messageSid, ours, receive, rowCounts, send } from "./support.js"

describe("participant key", () => {
  it("is the distinct participants, sorted, joined by |", () => {
    expect(participantKey(["+15559876543", "+15551234567"])).toBe("+15551234567|+15559876543")
    expect(participantKey([bob, alice, bob, ` ${alice} `])).toBe(`${alice}|${bob}`)
    expect(normalizeParticipants([carol, alice, bob, alice])).toEqual([alice, bob, carol])
  })

  it("does not depend on the order of the participants", () => {
    expect(participantKey([alice, bob, carol])).toBe(participantKey([carol, bob, alice]))
  })
})

const createConversation = (participants: ReadonlyArray<string>, metadata?: Record<string, unknown>) =>
  Effect.flatMap(Conversations, (m) => m.createConversation(participants as never, metadata))

describe("Threading", () => {
  it.effect("open stores the normalized participant set and finds it again in any order", () =>
    Effect.gen(function*() {
      const threading = yield* Threading
      const first = yield* threading.open([bob, alice, bob], null, "2025-01-15T10:30:00.000Z")
      const second = yield* threading.open([alice, bob], null, "2025-01-15T10:31:00.000Z")
      expect(first.created).toBe(true)
      expect(first.conversation.participants).toEqual([alice, bob])
      expect(second).toMatchObject({ created: false, conversation: { id: first.conversation.id } })
      const stored = yield* Effect.flatMap(ConversationStore, (s) => s.findByKey(`${alice}|${bob}`))
      expect(Option.map(stored, (c) => c.id)).toEqual(Option.some(first.conversation.id))
    }).pipe(Effect.provide(TestLayer())))

  it.effect("A→B and B→A land in one thread, and a third party gets another", () =>
    Effect.gen(function*() {
      const outbound = yield* send(alice)
      const reply = yield* receive(alice)
      const other = yield* receive(bob)
      expect(reply.conversationId).toBe(outbound.conversationId)
      expect(other.conversationId).not.toBe(outbound.conversationId)
      expect(yield* rowCounts).toMatchObject({ conversations: 2, messages: 3 })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an inbound message first, then our reply, share the thread too", () =>
    Effect.gen(function*() {
      const inbound = yield* receive(alice)
      const reply = yield* send(alice)
      expect(reply.conversationId).toBe(inbound.conversationId)
    }).pipe(Effect.provide(TestLayer())))
})

describe("Threading with a Messaging Service (no TWILIO_PHONE_NUMBER)", () => {
  const service = `MG${"c".repeat(32)}`

  // Twilio answers a service send with `from: null` and the reply arrives To one of the service's numbers
  // (with MessagingServiceSid): both directions are threaded by the service SID.
  it.effect("a reply to a message sent through the service joins its thread", () =>
    Effect.gen(function*() {
      const sent = yield* send(alice)
      const reply = yield* Effect.flatMap(Ingest, (m) =>
        m.inbound({
          sid: messageSid(0xabc),
          from: alice as never,
          to: ours as never,
          body: "reply",
          media: [],
          messagingServiceSid: service,
          extra: { MessagingServiceSid: service }
        }))
      expect(reply.conversationId).toBe(sent.conversationId)
    }).pipe(Effect.provide(TestLayer({ phoneNumber: undefined, messagingServiceSid: service }))))
})

describe("create_conversation", () => {
  it.effect("returns the existing thread for the same set, whatever the order, with alreadyExisted", () =>
    Effect.gen(function*() {
      const created = yield* createConversation([alice, bob], { ticket: "T-1", team: "support" })
      const again = yield* createConversation([bob, alice], { ticket: "T-2" })
      expect(created).toMatchObject({ alreadyExisted: false, participants: [alice, bob], metadata: { ticket: "T-1", team: "support" } })
      expect(again).toMatchObject({ alreadyExisted: true, conversationId: created.conversationId })
      // A repeated create merges its metadata into the thread: new keys win, others stay.
      expect(again.metadata).toEqual({ ticket: "T-2", team: "support" })
      expect((yield* rowCounts).conversations).toBe(1)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a different set is a different thread", () =>
    Effect.gen(function*() {
      const pair = yield* createConversation([alice, bob])
      const group = yield* createConversation([alice, bob, carol])
      expect(group.conversationId).not.toBe(pair.conversationId)
      expect(group.alreadyExisted).toBe(false)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("metadata defaults to {}", () =>
    Effect.gen(function*() {
      expect((yield* createConversation([alice, ours])).metadata).toEqual({})
    }).pipe(Effect.provide(TestLayer())))
})

describe("AUTO_CREATE_CONVERSATIONS=false", () => {
  const noAutoCreate = Effect.provide(TestLayer({ autoCreateConversations: false }))

  it.effect("a send with no existing thread fails before Twilio is called, and stores nothing", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(send(alice))
      expect(error._tag).toBe("AutoCreateDisabled")
      expect(error.message).toContain("No conversation found and auto-creation is disabled")
      yield* expectNothingSentOrStored
    }).pipe(noAutoCreate))

  it.effect("a send into a thread made with create_conversation works", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* createConversation([alice, ours])
      const sent = yield* send(alice)
      expect(sent.conversationId).toBe(conversationId)
      expect(yield* rowCounts).toMatchObject({ conversations: 1, messages: 1 })
    }).pipe(noAutoCreate))

  it.effect("an inbound message with no thread is still stored, unthreaded", () =>
    Effect.gen(function*() {
      const inbound = yield* receive(alice)
      expect(inbound).toMatchObject({ duplicate: false, conversationId: null })
      expect(yield* rowCounts).toMatchObject({ conversations: 0, messages: 1 })
      const listed = yield* Effect.flatMap(Replies, (m) => m.inbound({ limit: 10 }))
      expect(listed.messages.map((m) => [m.messageSid, m.conversationId])).toEqual([[inbound.sid, null]])
    }).pipe(noAutoCreate))
})
