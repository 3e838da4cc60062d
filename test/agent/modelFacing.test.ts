/**
 * What a model meets (issue 12) and the design document's contract to the letter (issue 17): results that say
 * what happened, and errors and schemas in plain words.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { Timestamp } from "../../src/domain/Time.js"
import { listTools } from "../../src/mcp/Bridge.js"
import { sandboxTools } from "../../src/mcp/tools/index.js"
import { Ingest } from "../../src/messaging/Ingest.js"
import { Database } from "../../src/storage/Database.js"
import { MessageStore } from "../../src/storage/MessageStore.js"
import { Twilio } from "../../src/twilio/Twilio.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { TestLayer } from "../support/TestLayer.js"
import { alice, bob, messageSid, ours, send } from "../unit/support.js"
import { callError, callOk, inbound, sendSms, sentByTwilio } from "./support.js"

const service = `MG${"5".repeat(32)}`

/** An outbound message stored here but unknown to the (in-memory) Twilio: sent by another process, or deleted. */
const storeUnknownToTwilio = (sid: string) =>
  Effect.gen(function*() {
    const store = yield* MessageStore
    const database = yield* Database
    yield* database.writeTransaction(store.insertMany([{
      sid,
      direction: "outbound",
      from: ours as never,
      to: alice as never,
      body: "from elsewhere",
      status: "sent",
      conversationId: null
    }], new Date(0).toISOString()))
  })

describe("idempotency keys belong to one message", () => {
  it.effect("a key reused for another recipient, text or media is refused, naming the key and its message; nothing is sent", () =>
    Effect.gen(function*() {
      const first = yield* sendSms({ to: alice, message: "Your table is booked", idempotencyKey: "booking-42" })
      for (const other of [{ to: bob }, { message: "Your table is cancelled" }, { mediaUrls: ["https://example.test/menu.png"] }]) {
        const error = yield* Effect.flip(sendSms({ to: alice, message: "Your table is booked", idempotencyKey: "booking-42", ...other }))
        expect(error).toMatchObject({ _tag: "IdempotencyKeyReused", idempotencyKey: "booking-42", to: alice, messageSid: first.messageSid })
        expect(error.message).toContain(`idempotencyKey "booking-42" already belongs to another message (to ${alice}: "Your table is booked", sent as ${first.messageSid})`)
      }
      expect(yield* sentByTwilio).toHaveLength(1)
      // The same message again is still a replay.
      expect(yield* sendSms({ to: alice, message: "Your table is booked", idempotencyKey: "booking-42" })).toMatchObject({ replayed: true })
    }).pipe(Effect.provide(TestLayer())))
})

describe("list_conversations", () => {
  it.effect("pages with the before it returns; anything else is refused saying where that value comes from", () =>
    Effect.gen(function*() {
      yield* send(alice)
      yield* TestClock.adjust("1 second")
      yield* send(bob)
      const page = yield* callOk("list_conversations", { limit: 1 })
      expect(page.conversations[0].participants).toContain(bob)
      const older = yield* callOk("list_conversations", { limit: 1, before: page.before })
      expect(older.conversations[0].participants).toContain(alice)
      const error = yield* callError("list_conversations", { before: "2026-11-23T10:00:00Z" })
      expect(error).toBe("Invalid arguments for list_conversations: before: must be the before value a previous list_conversations result returned")
    }).pipe(Effect.provide(TestLayer())))
})

describe("after STOP", () => {
  it.effect("an opted-out participant is not awaiting a reply, and the summary says they opted out", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* send(alice, "Still on for tomorrow?")
      yield* inbound(alice, "STOP")
      const thread = yield* callOk("get_conversation_thread", { conversationId, includeContext: true })
      expect(thread.optedOut).toEqual([alice])
      expect(thread.context.awaitingReply).toBe(false)
      expect(thread.context.summary).not.toContain("awaiting your reply")
      expect(thread.context.summary).toContain(`${alice} opted out (texted STOP): do not message them.`)
      const listed = yield* callOk("list_conversations", {})
      expect(listed.conversations[0]).toMatchObject({ conversationId, awaitingReply: false })
    }).pipe(Effect.provide(TestLayer())))
})

describe("get_conversation_thread", () => {
  it.effect("includeContext on a server with summaries off says it was ignored", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* send(alice)
      const thread = yield* callOk("get_conversation_thread", { conversationId, includeContext: true })
      expect(thread).not.toHaveProperty("context")
      expect(thread.note).toBe("includeContext was ignored: summaries are turned off on this server (ENABLE_AI_CONTEXT=false).")
    }).pipe(Effect.provide(TestLayer({ enableAiContext: false }))))

  it.effect("a long thread's page says how much is shown and how to see older messages (default page 50)", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* send(alice, "first")
      for (let i = 0; i < 54; i++) yield* inbound(alice, `reply ${i}`)
      const thread = yield* callOk("get_conversation_thread", { conversationId, includeContext: true })
      expect(thread.messages).toHaveLength(50)
      expect(thread.context.messageCount).toBe(55)
      expect(thread.note).toBe(`50 of 55 messages shown (the newest); pass before: "${thread.before}" for older ones.`)
      const older = yield* callOk("get_conversation_thread", { conversationId, before: thread.before })
      expect(older.messages).toHaveLength(5)
      expect(older).not.toHaveProperty("note")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("conversation ids are read in any case: upper case is the same thread", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* send(alice, "hello")
      const thread = yield* callOk("get_conversation_thread", { conversationId: conversationId!.toUpperCase() })
      expect(thread.conversationId).toBe(conversationId)
      expect((yield* callOk("send_sms", { to: alice, message: "again", conversationId: conversationId!.toUpperCase() })).conversationId).toBe(conversationId)
    }).pipe(Effect.provide(TestLayer())))
})

describe("sync_messages", () => {
  it.effect("a stored SID Twilio does not know (20404) is counted and named; the others still sync", () =>
    Effect.gen(function*() {
      const delivered = yield* send(bob)
      yield* Effect.flatMap(TwilioMemory, (t) => t.setStatus(delivered.messageSid, "delivered"))
      yield* storeUnknownToTwilio(messageSid(0xdead))
      const report = yield* callOk("sync_messages", {})
      expect(report).toMatchObject({ statusesChecked: 2, statusesAdvanced: 1, failed: { count: 1 } })
      expect(report.failed.first).toEqual([{ messageSid: messageSid(0xdead), error: expect.stringContaining("20404") }])
    }).pipe(Effect.provide(TestLayer())))
})

describe("get_message_status of a stored message Twilio does not know (20404)", () => {
  it.effect("says what is known: the stored status, and why Twilio could not tell", () =>
    Effect.gen(function*() {
      yield* storeUnknownToTwilio(messageSid(0xbeef))
      const status = yield* callOk("get_message_status", { messageSid: messageSid(0xbeef) })
      expect(status).toMatchObject({ status: "sent", note: "The last status stored: Twilio has no record of this message in this account (20404)." })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("in the sandbox: another process's in-memory Twilio sent it", () =>
    Effect.gen(function*() {
      yield* storeUnknownToTwilio(messageSid(0xbeef))
      const status = yield* callOk("get_message_status", { messageSid: messageSid(0xbeef) })
      expect(status.note).toBe("The last status stored: each sandbox process has an in-memory Twilio of its own, and this one did not send the message.")
      expect(status.note).not.toMatch(/could not be asked/)
    }).pipe(Effect.provide(TestLayer({ sandbox: true }))))
})

describe("errors and schemas in plain words", () => {
  const typeSyntax = /Brand<|ReadonlyArray|‹|›|Expected |\{ readonly|Schema|Struct|Refinement|PhoneNumber|ConversationId|MessageSid/

  it.effect("a wrong kind of value is named in words, never as a type", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
        ["create_conversation", { participants: "+15551230001" }, "participants: must be a list of strings"],
        ["create_conversation", { participants: ["+15551230001", 7] }, "participants.1: must be a string"],
        ["send_sms", { to: alice, message: 42 }, "message: must be a string"],
        ["send_sms", { to: alice, message: "hi", dryRun: "yes" }, "dryRun: must be true or false"],
        ["get_inbound_messages", { limit: 2.5 }, "limit: must be a whole number from 1 to 1000"],
        ["get_conversation_thread", { conversationId: "nope" }, "conversationId: must be a conversation id (a UUID) as send_sms, create_conversation or list_conversations return it"],
        ["create_conversation", { participants: [alice, bob], metadata: [] }, "metadata: must be an object"]
      ]
      for (const [tool, args, expected] of cases) {
        const error = yield* callError(tool, args)
        expect(error).toContain(expected)
        expect(error).not.toMatch(typeSyntax)
      }
    }).pipe(Effect.provide(TestLayer())))

  it.effect("check_setup refuses an unknown argument, as every other tool does", () =>
    Effect.gen(function*() {
      expect(yield* callError("check_setup", { verbose: true })).toBe("Invalid arguments for check_setup: verbose: is not a parameter of this tool")
    }).pipe(Effect.provide(TestLayer())))

  it("every input property has a description of its own, saying where ids come from", () => {
    for (const tool of listTools(sandboxTools)) {
      const properties = (tool.inputSchema as unknown as { properties: Record<string, { description?: string }> }).properties
      for (const [name, property] of Object.entries(properties)) {
        expect(property.description, `${tool.name}.${name}`).toMatch(/\w/)
        expect(property.description, `${tool.name}.${name}`).not.toMatch(/Universally Unique|a string|a number/)
      }
    }
    const status = listTools(sandboxTools).find((t) => t.name === "get_message_status")!
    expect((status.inputSchema as any).properties.messageSid.description).toContain("send_sms")
    const thread = listTools(sandboxTools).find((t) => t.name === "get_conversation_thread")!
    expect((thread.inputSchema as any).properties.conversationId.description).toMatch(/send_sms|list_conversations/)
  })
})

describe("one rule for times", () => {
  it("a time without a zone is UTC, whatever the server's time zone", () => {
    const zone = process.env.TZ
    process.env.TZ = "America/New_York"
    try {
      expect(Schema.decodeSync(Timestamp)("2026-11-23T10:00:00")).toBe("2026-11-23T10:00:00.000Z")
      expect(Schema.decodeSync(Timestamp)("2026-11-23T10:00")).toBe("2026-11-23T10:00:00.000Z")
      expect(Schema.decodeSync(Timestamp)("2026-11-23T05:00:00-05:00")).toBe("2026-11-23T10:00:00.000Z")
      expect(Schema.decodeSync(Timestamp)("2026-11-23")).toBe("2026-11-23T00:00:00.000Z")
    } finally {
      if (zone === undefined) delete process.env.TZ
      else process.env.TZ = zone
    }
  })

  it.effect("every tool that takes a time applies it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-23T09:00:00Z"))
      yield* inbound(alice, "at nine")
      yield* TestClock.setTime(Date.parse("2026-11-23T11:00:00Z"))
      yield* inbound(alice, "at eleven")
      const listed = yield* callOk("get_inbound_messages", { since: "2026-11-23T10:00:00" })
      expect(listed.messages.map((m: any) => m.body)).toEqual(["at eleven"])
      const waited = yield* callOk("wait_for_reply", { from: alice, since: "2026-11-23T10:00:00", timeoutSeconds: 1 })
      expect(waited.messages.map((m: any) => m.body)).toEqual(["at eleven"])
    }).pipe(Effect.provide(TestLayer())))
})

describe("Twilio's error text", () => {
  it.effect("a status callback's ErrorMessage is kept; without one, the code's meaning is shown — as on a live fetch", () =>
    Effect.gen(function*() {
      const ingest = yield* Ingest
      const withText = yield* send(alice)
      yield* ingest.status({ sid: withText.messageSid, status: "failed", errorCode: 30002, errorMessage: "Account suspended", at: new Date(0).toISOString() })
      const withoutText = yield* send(bob)
      yield* ingest.status({ sid: withoutText.messageSid, status: "undelivered", errorCode: 30003, at: new Date(0).toISOString() })
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`SELECT error_message FROM message_events WHERE message_sid = ${withText.messageSid}`).toEqual([{ error_message: "Account suspended" }])

      // Twilio (in memory) now has no text for the first: the stored one is what Twilio said.
      yield* Effect.flatMap(TwilioMemory, (t) => t.setStatus(withText.messageSid, "failed", 30002))
      expect(yield* callOk("get_message_status", { messageSid: withText.messageSid })).toMatchObject({ errorCode: 30002, errorMessage: "Account suspended" })
      const thread = yield* callOk("get_conversation_thread", { conversationId: withoutText.conversationId })
      expect(thread.messages[0]).toMatchObject({ errorCode: 30003, errorMessage: "Unreachable destination handset" })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("get_message_status leaves out from when Twilio gives no sender, rather than an empty one", () =>
    Effect.gen(function*() {
      // A message Twilio holds (sent through the service by another client) that this server never stored.
      const twilio = yield* Twilio
      const sent = yield* twilio.send({ to: alice, body: "hi", messagingServiceSid: service, statusCallback: "https://x.test/s" })
      expect(sent.from).toBeNull()
      const status = yield* callOk("get_message_status", { messageSid: sent.sid })
      expect(status).toMatchObject({ messageSid: sent.sid, status: "queued", to: alice })
      expect(status).not.toHaveProperty("from")
    }).pipe(Effect.provide(TestLayer({ phoneNumber: undefined, messagingServiceSid: service }))))
})
