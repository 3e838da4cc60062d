import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import type { ConversationId } from "../../src/domain/Conversation.js"
import { Conversations, type ThreadQuery } from "../../src/messaging/Conversations.js"
import { TestLayer } from "../support/TestLayer.js"
import { alice, bob, messageSid, ours, receive, send } from "./support.js"

const thread = (conversationId: string, options: Partial<Omit<ThreadQuery, "conversationId">> = {}) =>
  Effect.flatMap(Conversations, (m) =>
    m.thread({ conversationId: conversationId as ConversationId, includeContext: false, limit: 50, ...options }))

/**
 * A conversation with alice of `count` messages, alternating sent and received, `tickMillis` apart (0: all
 * at the same instant, so only the id tie-break orders them). Returns its id and the SIDs oldest first.
 */
const conversationWithAlice = (count: number, tickMillis: number) =>
  Effect.gen(function*() {
    const sids: Array<string> = []
    let conversationId = ""
    for (let i = 0; i < count; i++) {
      yield* TestClock.adjust(tickMillis)
      const message = i % 2 === 0
        ? yield* Effect.map(send(alice, `out ${i}`), (s) => ({ sid: s.messageSid, conversationId: s.conversationId }))
        : yield* receive(alice, { body: `in ${i}` })
      sids.push(message.sid)
      conversationId = message.conversationId ?? ""
    }
    return { conversationId, sids }
  })

/** Follows `before` from the newest page to the oldest; returns each page's SIDs and what it said. */
const readAllPages = (conversationId: string, limit: number) =>
  Effect.gen(function*() {
    const pages: Array<{ sids: Array<string>; hasMore: boolean; before: string | undefined }> = []
    let before: string | undefined
    do {
      const page = yield* thread(conversationId, { limit, before })
      pages.push({ sids: page.messages.map((m) => m.messageSid), hasMore: page.hasMore, before: page.before })
      before = page.before
      if (pages.length > 20) return expect.fail("paging does not end")
    } while (before !== undefined)
    return pages
  })

describe("get_conversation_thread paging", () => {
  for (const [label, tick] of [["distinct times", 1000], ["identical times", 0]] as const) {
    it.effect(`pages newest first, each page chronological, no overlap and no gap (${label})`, () =>
      Effect.gen(function*() {
        const { conversationId, sids } = yield* conversationWithAlice(7, tick)
        const pages = yield* readAllPages(conversationId, 3)
        expect(pages.map((p) => p.sids)).toEqual([sids.slice(4, 7), sids.slice(1, 4), sids.slice(0, 1)])
        expect(pages.map((p) => p.hasMore)).toEqual([true, true, false])
        expect(pages.map((p) => p.before)).toEqual([sids[4], sids[1], undefined])
      }).pipe(Effect.provide(TestLayer())))
  }

  it.effect("a thread that fits in one page has no more and no cursor", () =>
    Effect.gen(function*() {
      const { conversationId, sids } = yield* conversationWithAlice(3, 1000)
      const page = yield* thread(conversationId, { limit: 3 })
      expect(page.messages.map((m) => m.messageSid)).toEqual(sids)
      expect(page.hasMore).toBe(false)
      expect(page).not.toHaveProperty("before")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("messages are chronological with their direction, and other threads stay out", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* conversationWithAlice(2, 1000)
      yield* receive(bob)
      const page = yield* thread(conversationId)
      expect(page.messages.map((m) => [m.direction, m.body])).toEqual([["outbound", "out 0"], ["inbound", "in 1"]])
      expect(page.participants).toEqual([alice, ours].sort())
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a cursor from another conversation is MessageNotFound", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* conversationWithAlice(2, 0)
      const other = yield* receive(bob)
      const error = yield* Effect.flip(thread(conversationId, { before: other.sid }))
      expect(error).toMatchObject({ _tag: "MessageNotFound", messageSid: other.sid })
      const unknown = yield* Effect.flip(thread(conversationId, { before: messageSid(99) }))
      expect(unknown._tag).toBe("MessageNotFound")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an unknown conversation is ConversationNotFound", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(thread("00000000-0000-4000-8000-000000000000"))
      expect(error._tag).toBe("ConversationNotFound")
    }).pipe(Effect.provide(TestLayer())))
})

describe("get_conversation_thread context", () => {
  it.effect("counts per direction and says a reply is awaited when the last message is inbound", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* conversationWithAlice(3, 1000)
      yield* TestClock.adjust(1000)
      const last = yield* receive(alice)
      const { context } = yield* thread(conversationId, { includeContext: true, limit: 1 })
      expect(context).toMatchObject({
        messageCount: 4,
        outboundCount: 2,
        inboundCount: 2,
        awaitingReply: true,
        lastActivity: "1970-01-01T00:00:04.000Z"
      })
      expect(context?.summary).toContain("4 messages (2 sent, 2 received)")
      expect(context?.summary).toContain(`Last message from ${alice}`)
      expect(last.conversationId).toBe(conversationId)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("no reply is awaited when we wrote last", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* conversationWithAlice(3, 1000)
      const { context } = yield* thread(conversationId, { includeContext: true })
      expect(context).toMatchObject({ messageCount: 3, outboundCount: 2, inboundCount: 1, awaitingReply: false })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an empty conversation has zero counts and its creation time as last activity", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust(5000)
      const { conversationId, createdAt } = yield* Effect.flatMap(Conversations, (m) => m.createConversation([alice, bob] as never, undefined))
      const { context, messages } = yield* thread(conversationId, { includeContext: true })
      expect(messages).toEqual([])
      expect(context).toMatchObject({ messageCount: 0, awaitingReply: false, lastActivity: createdAt })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("is left out unless asked for", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* conversationWithAlice(1, 0)
      expect(yield* thread(conversationId)).not.toHaveProperty("context")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("is left out when ENABLE_AI_CONTEXT=false", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* conversationWithAlice(1, 0)
      expect(yield* thread(conversationId, { includeContext: true })).not.toHaveProperty("context")
    }).pipe(Effect.provide(TestLayer({ enableAiContext: false }))))
})
