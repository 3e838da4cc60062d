/**
 * WhatsApp through the same tools (issue 23) on the in-memory Twilio: the 24-hour window known before sending
 * (the TestClock moves it), templates, threads kept apart from SMS, profile names, `read`, the local opt-out,
 * the sender choice and media limits. Every refusal is checked to have sent nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { nowIso } from "../../src/domain/Time.js"
import { Ingest } from "../../src/messaging/Ingest.js"
import { Replies } from "../../src/messaging/Replies.js"
import { MEMORY_TEMPLATES } from "../../src/twilio/TwilioMemory.js"
import { TwilioApiError } from "../../src/twilio/TwilioErrors.js"
import { TestLayer } from "../support/TestLayer.js"
import { storedStatus } from "../unit/support.js"
import { callError, callOk, failNext, inbound, joinWithin, sentByTwilio } from "./support.js"

const WHATSAPP_SENDER = "whatsapp:+14155238886"
const ada = "+15551230001"
const adaWhatsApp = `whatsapp:${ada}`
const [reminder, unsubmitted] = MEMORY_TEMPLATES
const SERVICE = `MG${"1".repeat(32)}`
const layer = TestLayer({ whatsappNumber: WHATSAPP_SENDER })

/** A WhatsApp message from `from`, as the webhook stores it (with the profile name WhatsApp adds). */
const whatsAppInbound = (from: string, body: string, name = "Ada L.") =>
  inbound(from, body, { to: WHATSAPP_SENDER, extra: { ProfileName: name, WaId: from.replace("whatsapp:+", "") } })

/** A call that must fail without reaching Twilio: its text. */
const refused = (name: string, args: Record<string, unknown>) =>
  Effect.gen(function*() {
    const before = (yield* sentByTwilio).length
    const text = yield* callError(name, args)
    expect(yield* sentByTwilio).toHaveLength(before)
    return text
  })

describe("the 24-hour window", () => {
  it.effect("their message opens it: a free-form reply is sent from the WhatsApp sender, with channel and windowOpenUntil", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("1 hour")
      yield* whatsAppInbound(adaWhatsApp, "Is my order ready?")
      yield* TestClock.adjust("2 hours")
      const sent = yield* callOk("send_sms", { to: adaWhatsApp, message: "Yes, come by at 5." })
      expect(sent).toMatchObject({ to: adaWhatsApp, from: WHATSAPP_SENDER, channel: "whatsapp", windowOpenUntil: "1970-01-02T01:00:00.000Z" })
      expect(yield* sentByTwilio).toMatchObject([{ to: adaWhatsApp, from: WHATSAPP_SENDER, body: "Yes, come by at 5." }])
    }).pipe(Effect.provide(layer)))

  it.effect("24 hours after their last message a free-form reply is refused before Twilio, saying when it closed and that a template is needed", () =>
    Effect.gen(function*() {
      yield* whatsAppInbound(adaWhatsApp, "hello")
      yield* TestClock.adjust("23 hours")
      yield* callOk("send_sms", { to: adaWhatsApp, message: "still open" })
      yield* TestClock.adjust("1 hour")
      const text = yield* refused("send_sms", { to: adaWhatsApp, message: "too late" })
      expect(text).toContain("window closed at 1970-01-02T00:00:00.000Z")
      expect(text).toMatch(/template.*contentSid.*list_templates/)
      // A dry run is refused the same way; their next message opens the window again.
      expect(yield* refused("send_sms", { to: adaWhatsApp, message: "too late", dryRun: true })).toContain("window closed")
      yield* whatsAppInbound(adaWhatsApp, "back again")
      expect(yield* callOk("send_sms", { to: adaWhatsApp, message: "welcome back", dryRun: true })).toMatchObject({
        dryRun: true,
        channel: "whatsapp",
        windowOpenUntil: "1970-01-03T00:00:00.000Z"
      })
    }).pipe(Effect.provide(layer)))

  it.effect("someone who never wrote can only get a template", () =>
    Effect.gen(function*() {
      expect(yield* refused("send_sms", { to: adaWhatsApp, message: "hi" })).toContain("has not written to you on WhatsApp")
    }).pipe(Effect.provide(layer)))

  it.effect("get_conversation_thread shows the channel, windowOpenUntil and the profile name", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* whatsAppInbound(adaWhatsApp, "hi there", "Ada Lovelace")
      const thread = yield* callOk("get_conversation_thread", { conversationId })
      expect(thread).toMatchObject({
        channel: "whatsapp",
        windowOpenUntil: "1970-01-02T00:00:00.000Z",
        names: { [adaWhatsApp]: "Ada Lovelace" },
        messages: [{ channel: "whatsapp", from: adaWhatsApp, profileName: "Ada Lovelace", body: "hi there" }]
      })
      yield* TestClock.adjust("25 hours")
      expect(yield* callOk("get_conversation_thread", { conversationId })).toMatchObject({ windowOpenUntil: null })
    }).pipe(Effect.provide(layer)))
})

describe("templates", () => {
  it.effect("list_templates shows each template's WhatsApp approval and the variables it needs", () =>
    Effect.gen(function*() {
      const { templates } = yield* callOk("list_templates", {})
      expect(templates).toEqual([
        {
          contentSid: reminder!.contentSid,
          name: "appointment_reminder",
          language: "en",
          body: "Your appointment is on {{1}} at {{2}}. Reply to confirm.",
          variables: ["1", "2"],
          whatsapp: { status: "approved", category: "UTILITY" }
        },
        { contentSid: unsubmitted!.contentSid, name: "welcome", language: "en", body: "Welcome! Reply to this message to start.", variables: [] }
      ])
    }).pipe(Effect.provide(layer)))

  it.effect("a template with every variable goes out outside the window; the thread shows its text", () =>
    Effect.gen(function*() {
      const sent = yield* callOk("send_sms", { to: adaWhatsApp, contentSid: reminder!.contentSid, contentVariables: { 1: "Monday", 2: "3pm" } })
      expect(sent).toMatchObject({ channel: "whatsapp", windowOpenUntil: null })
      expect(yield* sentByTwilio).toMatchObject([{ to: adaWhatsApp, content: { sid: reminder!.contentSid, variables: { 1: "Monday", 2: "3pm" } } }])
      const thread = yield* callOk("get_conversation_thread", { conversationId: sent.conversationId })
      expect(thread.messages).toMatchObject([{ body: "Your appointment is on Monday at 3pm. Reply to confirm.", channel: "whatsapp" }])
    }).pipe(Effect.provide(layer)))

  it.effect("a missing variable, an unknown template, or both message and contentSid are refused without a Twilio call", () =>
    Effect.gen(function*() {
      const missing = yield* refused("send_sms", { to: adaWhatsApp, contentSid: reminder!.contentSid, contentVariables: { 1: "Monday" } })
      expect(missing).toContain("missing: 2")
      expect(yield* refused("send_sms", { to: adaWhatsApp, contentSid: `HX${"0".repeat(32)}` })).toContain("list_templates")
      expect(yield* refused("send_sms", { to: adaWhatsApp, message: "x", contentSid: reminder!.contentSid })).toContain(
        "give exactly one of message or contentSid"
      )
    }).pipe(Effect.provide(layer)))

  it.effect("Twilio's WhatsApp refusals carry advice in plain words", () =>
    Effect.gen(function*() {
      yield* whatsAppInbound(adaWhatsApp, "hi")
      yield* failNext(new TwilioApiError({ operation: "send", httpStatus: 400, code: 63016, detail: "Failed to send freeform message" }))
      expect(yield* callError("send_sms", { to: adaWhatsApp, message: "hello" })).toMatch(/63016.*approved template/)
      yield* failNext(new TwilioApiError({ operation: "send", httpStatus: 400, code: 63015, detail: "Channel Sandbox can only send messages to phone numbers that have joined the Sandbox" }))
      expect(yield* callError("send_sms", { to: adaWhatsApp, message: "hello" })).toContain('"join <code>"')
    }).pipe(Effect.provide(layer)))
})

describe("threads, channels and names", () => {
  it.effect("an SMS thread and a WhatsApp thread with the same number stay apart; lists and searches filter by channel", () =>
    Effect.gen(function*() {
      const sms = yield* inbound(ada, "order status please (sms)")
      const whatsapp = yield* whatsAppInbound(adaWhatsApp, "order status please (whatsapp)")
      expect(sms.conversationId).not.toBe(whatsapp.conversationId)
      const smsReply = yield* callOk("send_sms", { to: ada, message: "by SMS" })
      yield* TestClock.adjust("1 second")
      const whatsappReply = yield* callOk("send_sms", { to: adaWhatsApp, message: "by WhatsApp" })
      expect([smsReply.conversationId, smsReply.channel]).toEqual([sms.conversationId, "sms"])
      expect([whatsappReply.conversationId, whatsappReply.channel]).toEqual([whatsapp.conversationId, "whatsapp"])

      const all = yield* callOk("list_conversations", {})
      expect(all.conversations.map((c: any) => [c.conversationId, c.channel, c.lastMessage.channel])).toEqual([
        [whatsapp.conversationId, "whatsapp", "whatsapp"],
        [sms.conversationId, "sms", "sms"]
      ])
      expect((yield* callOk("list_conversations", { channel: "sms" })).conversations.map((c: any) => c.conversationId)).toEqual([sms.conversationId])
      expect((yield* callOk("list_conversations", { channel: "whatsapp" })).conversations.map((c: any) => c.conversationId)).toEqual([
        whatsapp.conversationId
      ])
      const found = (channel?: string) =>
        Effect.map(callOk("search_messages", { query: "order status", ...(channel ? { channel } : {}) }), (r) => r.messages.map((m: any) => m.body))
      expect(yield* found()).toHaveLength(2)
      expect(yield* found("whatsapp")).toEqual(["order status please (whatsapp)"])
      expect(yield* found("sms")).toEqual(["order status please (sms)"])
    }).pipe(Effect.provide(layer)))

  it.effect("the prefix is accepted in any case and stored as Twilio writes it", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* whatsAppInbound(adaWhatsApp, "hi")
      const sent = yield* callOk("send_sms", { to: `WhatsApp:${ada}`, message: "hello" })
      expect([sent.to, sent.conversationId]).toEqual([adaWhatsApp, conversationId])
      expect(yield* callError("send_sms", { to: "whatsapp:15551230001", message: "x" })).toContain("to: must be an E.164 phone number")
    }).pipe(Effect.provide(layer)))

  it.effect("wait_for_reply wakes on a WhatsApp reply, by thread or by sender", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* whatsAppInbound(adaWhatsApp, "first")
      yield* callOk("send_sms", { to: adaWhatsApp, message: "question?" })
      const byThread = yield* Effect.fork(Effect.flatMap(Replies, (r) => r.awaitReply({ conversationId: conversationId!, timeoutSeconds: 30 }, () => Effect.void)))
      const bySender = yield* Effect.fork(Effect.flatMap(Replies, (r) => r.awaitReply({ from: adaWhatsApp, timeoutSeconds: 30 }, () => Effect.void)))
      yield* TestClock.adjust("1 second")
      const reply = yield* whatsAppInbound(adaWhatsApp, "answer")
      for (const waiter of [byThread, bySender]) {
        expect(yield* joinWithin(waiter)).toMatchObject({
          status: "reply",
          conversationId,
          messages: [{ messageSid: reply.sid, channel: "whatsapp", profileName: "Ada L.", body: "answer" }]
        })
      }
    }).pipe(Effect.provide(layer)))
})

describe("statuses", () => {
  it.effect("read after delivered applies; delivered after read does not", () =>
    Effect.gen(function*() {
      yield* whatsAppInbound(adaWhatsApp, "hi")
      const { messageSid: sid } = yield* callOk("send_sms", { to: adaWhatsApp, message: "hello" })
      const ingest = yield* Ingest
      const status = (s: "delivered" | "read") => Effect.flatMap(nowIso, (at) => ingest.status({ sid, status: s, at }))
      expect(yield* status("delivered")).toMatchObject({ advanced: true })
      expect(yield* status("read")).toMatchObject({ advanced: true })
      expect(yield* storedStatus(sid)).toBe("read")
      expect(yield* status("delivered")).toMatchObject({ advanced: false })
      expect(yield* storedStatus(sid)).toBe("read")
    }).pipe(Effect.provide(layer)))
})

describe("the sender", () => {
  it.effect("without TWILIO_WHATSAPP_NUMBER or a Messaging Service, a WhatsApp send is refused saying what to set", () =>
    Effect.gen(function*() {
      const text = yield* refused("send_sms", { to: adaWhatsApp, contentSid: reminder!.contentSid, contentVariables: { 1: "a", 2: "b" } })
      expect(text).toContain("Set TWILIO_WHATSAPP_NUMBER")
      expect(text).toContain("TWILIO_MESSAGING_SERVICE_SID")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("with a Messaging Service and no WhatsApp number, the service sends (its WhatsApp sender) and threads", () =>
    Effect.gen(function*() {
      const sent = yield* callOk("send_sms", { to: adaWhatsApp, contentSid: unsubmitted!.contentSid })
      expect(sent).toMatchObject({ channel: "whatsapp" })
      expect(yield* callOk("list_conversations", {})).toMatchObject({ conversations: [{ participants: [SERVICE, adaWhatsApp] }] })
    }).pipe(Effect.provide(TestLayer({ messagingServiceSid: SERVICE }))))

  it.effect("a from on the other channel is refused", () =>
    Effect.gen(function*() {
      expect(yield* refused("send_sms", { to: ada, message: "x", from: WHATSAPP_SENDER })).toContain("different channels")
    }).pipe(Effect.provide(layer)))
})

describe("opt-out and media", () => {
  it.effect("STOP on WhatsApp is honoured by the server (Twilio does not); START opts back in", () =>
    Effect.gen(function*() {
      yield* whatsAppInbound(adaWhatsApp, "STOP")
      expect(yield* refused("send_sms", { to: adaWhatsApp, message: "are you sure?" })).toContain("opted out")
      // The same number by SMS is another conversation, and was not opted out by the WhatsApp STOP.
      yield* callOk("send_sms", { to: ada, message: "sms still works" })
      yield* whatsAppInbound(adaWhatsApp, "START")
      yield* callOk("send_sms", { to: adaWhatsApp, message: "welcome back" })
    }).pipe(Effect.provide(layer)))

  it.effect("one media item of a type WhatsApp takes is sent; two, or an unsupported type, are refused", () =>
    Effect.gen(function*() {
      yield* whatsAppInbound(adaWhatsApp, "send me the invoice")
      const base = { to: adaWhatsApp, message: "here" }
      expect(yield* refused("send_sms", { ...base, mediaUrls: ["https://example.com/a.jpg", "https://example.com/b.jpg"] })).toContain("one media item")
      expect(yield* refused("send_sms", { ...base, mediaUrls: ["https://example.com/anim.gif"] })).toContain(".gif")
      yield* callOk("send_sms", { ...base, mediaUrls: ["https://example.com/invoice.pdf"] })
      expect(yield* sentByTwilio).toMatchObject([{ mediaUrls: ["https://example.com/invoice.pdf"] }])
    }).pipe(Effect.provide(layer)))
})
