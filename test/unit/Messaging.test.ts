import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { PhoneNumber } from "../../src/domain/Address.js"
import type { ConversationId } from "../../src/domain/Conversation.js"
import { TwilioApiError, TwilioUnreachable } from "../../src/twilio/TwilioErrors.js"
import type { MessageStatus } from "../../src/domain/Message.js"
import { STATUS_PATH } from "../../src/domain/WebhookPaths.js"
import { Conversations } from "../../src/messaging/Conversations.js"
import { Delivery } from "../../src/messaging/Delivery.js"
import { Sending, type SendInput } from "../../src/messaging/Sending.js"
import { TestLayer } from "../support/TestLayer.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import {
  alice,
  asSent,
  bob,
  expectNothingSentOrStored,
  messageSid,
  ours,
  receive,
  rowCounts,
  send,
  storedStatus
} from "./support.js"

const sendWith = (input: Omit<SendInput, "message"> & { readonly message?: string }) =>
  Effect.flatMap(Sending, (m) => m.send({ message: "hello", ...input })).pipe(Effect.map(asSent))

const sentByTwilio = Effect.flatMap(TwilioMemory, (t) => t.sent)

const status = (sid: string) => Effect.flatMap(Delivery, (m) => m.status(sid))

const setStatus = (sid: string, to: MessageStatus, errorCode?: number) =>
  Effect.flatMap(TwilioMemory, (t) => t.setStatus(sid, to, errorCode))

const failNext = (error: TwilioApiError | TwilioUnreachable) => Effect.flatMap(TwilioMemory, (t) => t.failNext(error))

const unknownConversation = "00000000-0000-4000-8000-000000000000" as ConversationId

describe("Messaging.send", () => {
  it.effect("sends through Twilio, stores the message and threads it", () =>
    Effect.gen(function*() {
      const result = yield* send(alice, "hello")
      expect(result).toMatchObject({ status: "queued", to: alice, from: ours, timestamp: "1970-01-01T00:00:00.000Z" })
      expect(result.messageSid).toMatch(/^SM[0-9a-f]{32}$/)
      expect(result.conversationId).toEqual(expect.any(String))
      expect(result).not.toHaveProperty("warning")
      const [sent] = yield* sentByTwilio
      expect(sent).toMatchObject({ sid: result.messageSid, to: alice, from: ours, body: "hello" })
      const thread = yield* Effect.flatMap(Conversations, (m) =>
        m.thread({ conversationId: result.conversationId as ConversationId, includeContext: false, limit: 10 }))
      expect(thread.messages).toMatchObject([{ messageSid: result.messageSid, direction: "outbound", body: "hello" }])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("passes WEBHOOK_BASE_URL + /webhooks/twilio/status as the status callback", () =>
    Effect.gen(function*() {
      yield* send(alice)
      const [sent] = yield* sentByTwilio
      expect(STATUS_PATH).toBe("/webhooks/twilio/status")
      expect(sent?.statusCallback).toBe("https://hooks.example.test/public/webhooks/twilio/status")
    }).pipe(Effect.provide(TestLayer({ webhookBaseUrl: "https://hooks.example.test/public" }))))

  it.effect("a Twilio failure leaves no conversation and no message", () =>
    Effect.gen(function*() {
      const refusal = new TwilioApiError({ operation: "send", httpStatus: 400, code: 21211, detail: "Invalid 'To' Phone Number" })
      yield* failNext(refusal)
      const error = yield* Effect.flip(send(alice))
      expect(error).toEqual(refusal)
      yield* expectNothingSentOrStored
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an ambiguous network failure is reported as such and stores nothing", () =>
    Effect.gen(function*() {
      yield* failNext(new TwilioUnreachable({ operation: "send", reason: "request timed out", mayHaveSent: true }))
      const error = yield* Effect.flip(send(alice))
      expect(error._tag).toBe("TwilioUnreachable")
      expect(error.message).toContain("may have been sent")
      yield* expectNothingSentOrStored
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a conversationId that does not exist fails with ConversationNotFound and sends nothing", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(sendWith({ to: alice, conversationId: unknownConversation }))
      expect(error).toMatchObject({ _tag: "ConversationNotFound", conversationId: unknownConversation })
      yield* expectNothingSentOrStored
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a recipient outside the given conversation fails with RecipientNotInConversation", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* send(alice)
      const error = yield* Effect.flip(sendWith({ to: bob, conversationId: conversationId as ConversationId }))
      expect(error).toMatchObject({ _tag: "RecipientNotInConversation", to: bob, conversationId })
      expect(error.message).toContain(alice)
      expect(yield* sentByTwilio).toHaveLength(1)
      expect(yield* rowCounts).toMatchObject({ conversations: 1, messages: 1 })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a send into a given conversation uses it", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* Effect.flatMap(Conversations, (m) => m.createConversation([alice, bob] as Array<PhoneNumber>, undefined))
      const sent = yield* sendWith({ to: bob, conversationId: conversationId as ConversationId })
      expect(sent.conversationId).toBe(conversationId)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("media with ENABLE_MMS=false fails with MmsDisabled before Twilio is called", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(sendWith({ to: alice, mediaUrls: ["https://example.com/cat.jpg"] }))
      expect(error._tag).toBe("MmsDisabled")
      yield* expectNothingSentOrStored
    }).pipe(Effect.provide(TestLayer({ enableMms: false }))))

  it.effect("media with MMS enabled goes to Twilio and is stored", () =>
    Effect.gen(function*() {
      const sent = yield* sendWith({ to: alice, mediaUrls: ["https://example.com/cat.jpg"] })
      expect(sent.messageSid).toMatch(/^MM/)
      expect((yield* sentByTwilio)[0]?.mediaUrls).toEqual(["https://example.com/cat.jpg"])
      const thread = yield* Effect.flatMap(Conversations, (m) =>
        m.thread({ conversationId: sent.conversationId as ConversationId, includeContext: false, limit: 1 }))
      expect(thread.messages[0]?.media).toEqual([{ url: "https://example.com/cat.jpg" }])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a `from` that is not one of the account's senders is refused before Twilio, naming them, in a send and a dry run", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(sendWith({ to: alice, from: bob }))
      expect(error).toMatchObject({ _tag: "SenderNotOwned", from: bob, senders: [ours] })
      expect(error.message).toBe(`Not sent: ${bob} is not one of this account's SMS senders (${ours}). Omit from to use the configured sender, or pass one of these.`)
      const preview = yield* Effect.flip(Effect.flatMap(Sending, (m) => m.preview({ to: alice, from: bob, message: "hi" })))
      expect(preview._tag).toBe("SenderNotOwned")
      yield* expectNothingSentOrStored
    }).pipe(Effect.provide(TestLayer())))

  it.effect("when Twilio cannot list the senders, Twilio itself refuses a wrong `from` (21606) and says what to do", () =>
    Effect.gen(function*() {
      yield* failNext(new TwilioUnreachable({ operation: "list phone numbers", reason: "request timed out", mayHaveSent: false }))
      const error = yield* Effect.flip(sendWith({ to: alice, from: bob }))
      expect(error).toMatchObject({ _tag: "TwilioApiError", code: 21606 })
      expect(error.message).toContain("use TWILIO_PHONE_NUMBER or one you own")
      yield* expectNothingSentOrStored
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an explicit `from` that is ours is used", () =>
    Effect.gen(function*() {
      expect((yield* sendWith({ to: alice, from: ours })).from).toBe(ours)
    }).pipe(Effect.provide(TestLayer())))
})

describe("Messaging.status (get_message_status)", () => {
  it.effect("writes the live status back", () =>
    Effect.gen(function*() {
      const { messageSid } = yield* send(alice)
      yield* setStatus(messageSid, "delivered")
      expect(yield* status(messageSid)).toMatchObject({ messageSid, status: "delivered", to: alice, from: ours })
      expect(yield* storedStatus(messageSid)).toBe("delivered")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("never moves a status backwards", () =>
    Effect.gen(function*() {
      const { messageSid } = yield* send(alice)
      yield* setStatus(messageSid, "delivered")
      yield* status(messageSid)
      yield* setStatus(messageSid, "sent")
      expect((yield* status(messageSid)).status).toBe("delivered")
      expect(yield* storedStatus(messageSid)).toBe("delivered")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("reports Twilio's error code with a readable explanation", () =>
    Effect.gen(function*() {
      const { messageSid } = yield* send(alice)
      yield* setStatus(messageSid, "undelivered", 30003)
      expect(yield* status(messageSid)).toMatchObject({
        status: "undelivered",
        errorCode: 30003,
        errorMessage: "Unreachable destination handset"
      })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("falls back to the stored status, with a note, when Twilio is unreachable", () =>
    Effect.gen(function*() {
      const { messageSid } = yield* send(alice)
      yield* setStatus(messageSid, "delivered")
      yield* failNext(new TwilioUnreachable({ operation: "fetch message", reason: "request timed out", mayHaveSent: false }))
      const result = yield* status(messageSid)
      const { note } = result as { readonly note?: string }
      expect(result).toMatchObject({ messageSid, status: "queued", to: alice, from: ours })
      expect(note).toContain("Last known status")
      expect(note).toContain("request timed out")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an SID unknown locally and to Twilio (20404) is MessageNotFound", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(status(messageSid(404)))
      expect(error).toMatchObject({ _tag: "MessageNotFound", messageSid: messageSid(404) })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an SID unknown locally while Twilio is unreachable reports Twilio unreachable, not 'not found'", () =>
    Effect.gen(function*() {
      yield* failNext(new TwilioUnreachable({ operation: "fetch message", reason: "ECONNREFUSED", mayHaveSent: false }))
      const error = yield* Effect.flip(status(messageSid(404)))
      expect(error._tag).toBe("TwilioUnreachable")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an inbound message keeps its stored status", () =>
    Effect.gen(function*() {
      const { sid } = yield* receive(alice)
      expect((yield* status(sid)).status).toBe("received")
    }).pipe(Effect.provide(TestLayer())))
})
