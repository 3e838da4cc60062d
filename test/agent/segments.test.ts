/** Segment preview and dry runs (issue 4, item 4), through send_sms as the MCP server runs it. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TestLayer } from "../support/TestLayer.js"
import { alice, bob, ours, send, snapshot } from "../unit/support.js"
import { callError, callOk, inbound, sentByTwilio } from "./support.js"

const gsm161 = "a".repeat(150) + " 0123456789"

describe("send_sms segments and encoding", () => {
  it.effect.each([
    ["a short GSM text", "Hello, see you at 5?", { segments: 1, encoding: "GSM-7" }],
    ["160 GSM characters", "b".repeat(160), { segments: 1, encoding: "GSM-7" }],
    ["161 GSM characters", gsm161, { segments: 2, encoding: "GSM-7" }],
    ["an emoji", "See you soon 😀", { segments: 1, encoding: "UCS-2", nonGsmCharacters: ["😀"] }],
    ["a curly apostrophe", "It’s here", { segments: 1, encoding: "UCS-2", nonGsmCharacters: ["’"] }],
    ["71 characters with one emoji", "c".repeat(69) + "😀", { segments: 2, encoding: "UCS-2", nonGsmCharacters: ["😀"] }]
  ] as const)("%s", ([, message, expected]) =>
    Effect.gen(function*() {
      const sent = yield* callOk("send_sms", { to: alice, message })
      expect(sent).toMatchObject({ ...expected, status: "queued" })
      if (!("nonGsmCharacters" in expected)) expect(sent).not.toHaveProperty("nonGsmCharacters")
      expect((yield* sentByTwilio).map((m) => m.body)).toEqual([message])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("lists each character that forces UCS-2 once", () =>
    Effect.gen(function*() {
      const sent = yield* callOk("send_sms", { to: alice, message: "“Quote” ‘x’ “again”" })
      expect(sent.encoding).toBe("UCS-2")
      expect([...sent.nonGsmCharacters].sort()).toEqual(["‘", "’", "“", "”"].sort())
    }).pipe(Effect.provide(TestLayer())))

  it.effect("the stored message keeps the segment count", () =>
    Effect.gen(function*() {
      const sent = yield* callOk("send_sms", { to: alice, message: gsm161 })
      const thread = yield* callOk("get_conversation_thread", { conversationId: sent.conversationId })
      expect(thread.messages[0]).toMatchObject({ messageSid: sent.messageSid, numSegments: 2 })
    }).pipe(Effect.provide(TestLayer())))
})

/** Runs `effect` and checks that it sent nothing through Twilio and changed no table. */
const untouched = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = yield* snapshot
    const sentBefore = yield* sentByTwilio
    const result = yield* effect
    expect(yield* sentByTwilio).toEqual(sentBefore)
    expect(yield* snapshot).toEqual(before)
    return result
  })

/** A dry run that must succeed: the preview. */
const dryRun = (args: Record<string, unknown>) => untouched(callOk("send_sms", { ...args, dryRun: true }))

/** A dry run that must be refused: the error text. */
const refusedDryRun = (args: Record<string, unknown>) => untouched(callError("send_sms", { message: "hi", ...args, dryRun: true }))

describe("send_sms dryRun", () => {
  it.effect("returns the preview and sends and writes nothing, not even a new conversation", () =>
    Effect.gen(function*() {
      const preview = yield* dryRun({ to: alice, message: gsm161 })
      expect(preview).toMatchObject({ dryRun: true, to: alice, from: ours, conversationId: null, segments: 2, encoding: "GSM-7" })
      expect(preview).not.toHaveProperty("messageSid")
      expect(preview.status).toContain("dry run")
      expect(yield* sentByTwilio).toEqual([])
      expect((yield* snapshot).conversations).toEqual([])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("resolves the existing thread", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* send(alice, "first")
      expect(yield* dryRun({ to: alice, message: "It’s me" })).toMatchObject({
        conversationId,
        segments: 1,
        encoding: "UCS-2",
        nonGsmCharacters: ["’"]
      })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("does not use up an idempotency key", () =>
    Effect.gen(function*() {
      yield* dryRun({ to: alice, message: "hi", idempotencyKey: "k-dry" })
      const sent = yield* callOk("send_sms", { to: alice, message: "hi", idempotencyKey: "k-dry" })
      expect(sent).not.toHaveProperty("replayed")
      expect(yield* sentByTwilio).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("is refused for an opted-out recipient", () =>
    Effect.gen(function*() {
      yield* inbound(alice, "STOP")
      expect(yield* refusedDryRun({ to: alice })).toContain("START")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("is refused by SMS_ALLOWED_RECIPIENTS", () =>
    Effect.gen(function*() {
      expect(yield* refusedDryRun({ to: bob })).toContain("SMS_ALLOWED_RECIPIENTS")
    }).pipe(Effect.provide(TestLayer({ allowedRecipients: [alice] }))))

  it.effect("is refused at SMS_MAX_PER_HOUR", () =>
    Effect.gen(function*() {
      yield* send(alice)
      expect(yield* refusedDryRun({ to: bob })).toContain("SMS_MAX_PER_HOUR")
    }).pipe(Effect.provide(TestLayer({ maxPerHour: 1 }))))

  it.effect("is refused when no thread exists and AUTO_CREATE_CONVERSATIONS is off", () =>
    Effect.gen(function*() {
      expect(yield* refusedDryRun({ to: alice })).toContain("AUTO_CREATE_CONVERSATIONS")
    }).pipe(Effect.provide(TestLayer({ autoCreateConversations: false }))))
})
