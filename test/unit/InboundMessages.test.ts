import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { Conversations } from "../../src/messaging/Conversations.js"
import { Replies } from "../../src/messaging/Replies.js"
import type { InboundFilter } from "../../src/storage/MessageReads.js"
import { TestLayer } from "../support/TestLayer.js"
import { alice, bob, callTool, messageSid, migratedUpTo, ours, receive, send, tempDatabase } from "./support.js"

const otherNumber = "+15005550007"

const atSecond = (seconds: number) => TestClock.setTime(seconds * 1000)

/**
 * Inbound from alice (1 s), bob (2.5 s), alice to our other number (3 s), one sent to alice (4 s) and
 * alice again (5 s). Returns the inbound SIDs by name and alice's thread with our main number.
 */
const mailbox = Effect.gen(function*() {
  yield* atSecond(1)
  const a1 = yield* receive(alice)
  yield* atSecond(2.5)
  const b2 = yield* receive(bob)
  yield* atSecond(3)
  const a3 = yield* receive(alice, { to: otherNumber })
  yield* atSecond(4)
  yield* send(alice)
  yield* atSecond(5)
  const a5 = yield* receive(alice)
  return { a1: a1.sid, b2: b2.sid, a3: a3.sid, a5: a5.sid, aliceThread: a1.conversationId! }
})

const inbound = (filter: Partial<InboundFilter> = {}) =>
  Effect.flatMap(Replies, (m) => m.inbound({ limit: 50, ...filter }))

const sidsOf = (result: { readonly messages: ReadonlyArray<{ readonly messageSid: string }> }) =>
  result.messages.map((m) => m.messageSid)

describe("get_inbound_messages", () => {
  it.effect("lists inbound messages only, newest first", () =>
    Effect.gen(function*() {
      const { a1, b2, a3, a5 } = yield* mailbox
      const result = yield* inbound()
      expect(sidsOf(result)).toEqual([a5, a3, b2, a1])
      expect(result.messages.every((m) => m.direction === "inbound" && m.status === "received")).toBe(true)
      expect(result.totalCount).toBe(4)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("filters by from, to, conversationId and since (exclusive)", () =>
    Effect.gen(function*() {
      const { a1, b2, a3, a5, aliceThread } = yield* mailbox
      expect(sidsOf(yield* inbound({ from: alice }))).toEqual([a5, a3, a1])
      expect(sidsOf(yield* inbound({ to: otherNumber }))).toEqual([a3])
      expect(sidsOf(yield* inbound({ conversationId: aliceThread }))).toEqual([a5, a1])
      expect(sidsOf(yield* inbound({ since: "1970-01-01T00:00:02.500Z" }))).toEqual([a5, a3])
      expect(sidsOf(yield* inbound({ from: alice, since: "1970-01-01T00:00:01.000Z" }))).toEqual([a5, a3])
      expect(sidsOf(yield* inbound({ from: bob }))).toEqual([b2])
      expect(yield* inbound({ from: "+19999999999" })).toEqual({ messages: [], totalCount: 0 })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("limit cuts the page; totalCount still counts every match", () =>
    Effect.gen(function*() {
      const { a3, a5 } = yield* mailbox
      const page = yield* inbound({ limit: 2 })
      expect(sidsOf(page)).toEqual([a5, a3])
      expect(page.totalCount).toBe(4)
      const filtered = yield* inbound({ from: alice, limit: 1 })
      expect(sidsOf(filtered)).toEqual([a5])
      expect(filtered.totalCount).toBe(3)
      expect((yield* inbound({ limit: 4 })).totalCount).toBe(4)
    }).pipe(Effect.provide(TestLayer())))
})

describe("get_inbound_messages by sender (through the threads the sender wrote in, migration 0005)", () => {
  it.effect("with auto-creation off, unthreaded and threaded messages are merged newest first and counted together", () =>
    Effect.gen(function*() {
      yield* atSecond(1)
      const loose1 = yield* receive(alice)
      expect(loose1.conversationId).toBeNull()
      yield* atSecond(2)
      yield* Effect.flatMap(Conversations, (m) => m.createConversation([alice, ours], undefined))
      const threaded = yield* receive(alice)
      expect(threaded.conversationId).not.toBeNull()
      yield* atSecond(3)
      const loose3 = yield* receive(alice, { to: otherNumber })
      yield* atSecond(4)
      yield* receive(bob)

      expect(sidsOf(yield* inbound({ from: alice }))).toEqual([loose3.sid, threaded.sid, loose1.sid])
      const page = yield* inbound({ from: alice, limit: 2 })
      expect(sidsOf(page)).toEqual([loose3.sid, threaded.sid])
      expect(page.totalCount).toBe(3)
      expect(sidsOf(yield* inbound({ from: alice, since: "1970-01-01T00:00:01.000Z" }))).toEqual([loose3.sid, threaded.sid])
      expect(sidsOf(yield* inbound({ from: alice, to: otherNumber }))).toEqual([loose3.sid])
    }).pipe(Effect.provide(TestLayer({ autoCreateConversations: false }))))

  it.effect("two messages in the same millisecond keep their stored order across threads", () =>
    Effect.gen(function*() {
      yield* atSecond(1)
      const first = yield* receive(alice, { to: otherNumber })
      const second = yield* receive(alice)
      const third = yield* receive(alice, { to: otherNumber })
      expect(sidsOf(yield* inbound({ from: alice }))).toEqual([third.sid, second.sid, first.sid])
    }).pipe(Effect.provide(TestLayer())))
})

describe("migration 0005 (inbound by sender through the threads they wrote in)", () => {
  it.scoped("an older database's senders are listed with their threads, and its messages are found by sender", () =>
    Effect.gen(function*() {
      const filename = yield* tempDatabase("older.db")
      const at = (second: number) => `2025-01-01T00:00:0${second}.000Z`
      yield* migratedUpTo(filename, "0004_search_backlog", Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.all([
          sql`INSERT INTO conversations (id, participant_key, participants, created_at, last_activity_at)
              VALUES ('c-alice', ${[alice, ours].sort().join("|")}, ${JSON.stringify([alice, ours].sort())}, ${at(1)}, ${at(2)})`,
          ...([[1, "c-alice", "inbound"], [2, null, "inbound"], [3, "c-alice", "inbound"], [4, "c-alice", "outbound"]] as const).map(
            ([n, thread, direction]) =>
              sql`INSERT INTO messages (sid, conversation_id, direction, from_address, to_address, body, status, status_rank, created_at, updated_at)
                  VALUES (${messageSid(n)}, ${thread}, ${direction}, ${direction === "inbound" ? alice : ours}, ${direction === "inbound" ? ours : alice},
                    'hi', 'received', 4, ${at(n)}, ${at(n)})`
          )
        ])))

      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT from_address, conversation_id FROM inbound_senders`).toEqual([{ from_address: alice, conversation_id: "c-alice" }])
        expect(
          yield* sql.onDialectOrElse({
            pg: () => sql`SELECT indexname FROM pg_indexes WHERE indexname = 'messages_direction_from'`,
            orElse: () => sql`SELECT name FROM sqlite_master WHERE name = 'messages_direction_from'`
          })
        ).toEqual([])
        const result = yield* inbound({ from: alice, limit: 2 })
        expect(sidsOf(result)).toEqual([messageSid(3), messageSid(2)])
        expect(result.totalCount).toBe(3)
        // From now on the trigger lists a sender with a thread at its first message there, once.
        const bobs = yield* receive(bob)
        yield* receive(bob)
        expect(yield* sql`SELECT from_address FROM inbound_senders WHERE conversation_id = ${bobs.conversationId}`).toEqual([{ from_address: bob }])
      }).pipe(Effect.provide(TestLayer({ databasePath: filename })))
    }))
})

describe("by sender, only threads the sender wrote in are read", () => {
  it.effect("a group thread the sender is in, and our own number (in every thread), list nothing extra", () =>
    Effect.gen(function*() {
      yield* Effect.flatMap(Conversations, (m) => m.createConversation([alice, bob, ours], undefined))
      const fromAlice = yield* receive(alice)
      yield* send(bob)
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`SELECT conversation_id FROM inbound_senders WHERE from_address = ${alice}`).toEqual([{ conversation_id: fromAlice.conversationId }])
      expect(yield* sql`SELECT COUNT(*) AS n FROM inbound_senders WHERE from_address = ${ours}`).toEqual([{ n: 0 }])
      expect(sidsOf(yield* inbound({ from: alice }))).toEqual([fromAlice.sid])
      expect(yield* inbound({ from: ours })).toEqual({ messages: [], totalCount: 0 })
    }).pipe(Effect.provide(TestLayer())))
})

/** The same listing through the MCP tool, where arguments are decoded (limit default, `since` normalized). */
const inboundTool = (args: Record<string, unknown>) =>
  Effect.map(callTool("get_inbound_messages", args), (result) => {
    expect(result.isError).toBeFalsy()
    return result.structuredContent as { messages: Array<{ messageSid: string }>; totalCount: number }
  })

describe("get_inbound_messages tool", () => {
  it.effect("since accepts any ISO 8601 form of the same instant", () =>
    Effect.gen(function*() {
      const { b2, a3, a5 } = yield* mailbox
      // Stored times have milliseconds ("…02.500Z"): a raw text comparison with "…02Z" would drop b2.
      for (const since of ["1970-01-01T00:00:02Z", "1970-01-01T01:00:02+01:00", "1970-01-01T00:00:02.000Z"]) {
        expect(sidsOf(yield* inboundTool({ since }))).toEqual([a5, a3, b2])
      }
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an unparsable since is an error naming the field", () =>
    Effect.gen(function*() {
      const result = yield* callTool("get_inbound_messages", { since: "yesterday" })
      expect(result.isError).toBe(true)
      expect(JSON.stringify(result.content)).toContain("since")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("limit defaults to 50 and totalCount counts beyond it", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 52; i++) yield* receive(bob)
      const result = yield* inboundTool({})
      expect(result.messages).toHaveLength(50)
      expect(result.totalCount).toBe(52)
    }).pipe(Effect.provide(TestLayer())))
})
