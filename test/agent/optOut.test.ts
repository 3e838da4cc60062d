/**
 * Opt-out safety (issue 4, item 3): STOP/START keywords, OptOutType, Twilio's 21610, duplicate webhooks, and a
 * refused send never reaching Twilio.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { TwilioApiError } from "../../src/twilio/TwilioErrors.js"
import { TEST_SECOND_PHONE, TestLayer } from "../support/TestLayer.js"
import { alice, bob, messageSid, ours } from "../unit/support.js"
import { callError, callOk, failNext, inbound, refusedSend, sendSms, sentByTwilio } from "./support.js"

/** A send to `to` must be refused as opted out, before Twilio: returns the refusal. */
const expectOptedOut = (to: string) =>
  Effect.map(refusedSend(to), (error) => {
    expect(error).toMatchObject({ _tag: "OptedOut", recipient: to, sender: ours })
    expect(error.message).toContain("START")
  })

const expectSendable = (to: string) =>
  Effect.map(sendSms({ to: to as never }), (sent) => expect(sent).toMatchObject({ to, status: "queued" }))

// README: an opt-out is per (recipient, sender); the check applies to the sender a send actually uses.
describe("opt-out of one of our numbers", () => {
  it.effect("a STOP received on the second number blocks send_sms from it, and only from it", () =>
    Effect.gen(function*() {
      yield* inbound(alice, "STOP", { to: TEST_SECOND_PHONE })
      const refused = yield* callError("send_sms", { to: alice, message: "hi", from: TEST_SECOND_PHONE })
      expect(refused).toContain("opted out")
      expect(refused).toContain(TEST_SECOND_PHONE)
      expect(yield* sentByTwilio).toEqual([])
      expect(yield* callOk("send_sms", { to: alice, message: "hi" })).toMatchObject({ from: ours, status: "queued" })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a STOP received on the default number blocks it, not a send from the second", () =>
    Effect.gen(function*() {
      yield* inbound(alice, "STOP")
      expect(yield* callError("send_sms", { to: alice, message: "hi" })).toContain("opted out")
      expect(yield* callOk("send_sms", { to: alice, message: "hi", from: TEST_SECOND_PHONE })).toMatchObject({ from: TEST_SECOND_PHONE, status: "queued" })
      expect((yield* sentByTwilio).map((m) => m.from)).toEqual([TEST_SECOND_PHONE])
    }).pipe(Effect.provide(TestLayer())))
})

describe("opt-out keywords", () => {
  it.effect.each(["STOP", "stop", "Unsubscribe", "  quit ", "StopAll", "CANCEL", "end"])(
    "inbound %j opts the sender out: send_sms is an isError that says START, nothing reaches Twilio",
    (keyword) =>
      Effect.gen(function*() {
        yield* expectSendable(alice)
        yield* inbound(alice, keyword)
        yield* expectOptedOut(alice)

        const message = yield* callError("send_sms", { to: alice, message: "one more?" })
        expect(message).toContain("opted out")
        expect(message).toContain("START")
        expect(yield* sentByTwilio).toHaveLength(1)
        // Only that sender.
        yield* expectSendable(bob)
      }).pipe(Effect.provide(TestLayer()))
  )

  it.effect.each(["please stop texting me", "stop stop", "Don't unsubscribe me"])(
    "%j is not a keyword: no opt-out",
    (body) =>
      Effect.gen(function*() {
        yield* inbound(alice, body)
        yield* expectSendable(alice)
      }).pipe(Effect.provide(TestLayer()))
  )

  it.effect.each(["START", "yes", "Unstop"])("%j after STOP opts back in", (keyword) =>
    Effect.gen(function*() {
      yield* inbound(alice, "STOP")
      yield* expectOptedOut(alice)
      yield* inbound(alice, keyword)
      yield* expectSendable(alice)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("OptOutType=STOP in the webhook's extra fields opts out whatever the body says; OptOutType=START opts in", () =>
    Effect.gen(function*() {
      yield* inbound(alice, "please take me off this list", { extra: { OptOutType: "STOP" } })
      yield* expectOptedOut(alice)
      yield* inbound(alice, "ok I changed my mind", { extra: { OptOutType: "START" } })
      yield* expectSendable(alice)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("get_conversation_thread shows who opted out", () =>
    Effect.gen(function*() {
      const { conversationId } = yield* inbound(alice, "STOP")
      expect(yield* callOk("get_conversation_thread", { conversationId })).toMatchObject({ optedOut: [alice] })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a duplicate delivery of the STOP webhook does not flip the state again", () =>
    Effect.gen(function*() {
      const stop = messageSid(0x51)
      yield* inbound(alice, "STOP", { sid: stop })
      yield* TestClock.adjust("1 second")
      yield* inbound(alice, "START")
      yield* TestClock.adjust("1 second")
      // Twilio retries the STOP webhook after the START: already stored, so ignored.
      expect(yield* inbound(alice, "STOP", { sid: stop })).toMatchObject({ duplicate: true })
      yield* expectSendable(alice)
    }).pipe(Effect.provide(TestLayer())))
})

describe("Twilio 21610", () => {
  it.effect("a send Twilio refuses with 21610 records the opt-out: the next send is refused before Twilio", () =>
    Effect.gen(function*() {
      const refusal = new TwilioApiError({
        operation: "send",
        httpStatus: 400,
        code: 21610,
        detail: "Attempt to send to unsubscribed recipient"
      })
      yield* failNext(refusal)
      expect(yield* Effect.flip(sendSms({ to: alice }))).toEqual(refusal)

      // Had the next call reached the fake, it would have been accepted.
      yield* expectOptedOut(alice)
      expect(yield* sentByTwilio).toEqual([])
      yield* inbound(alice, "START")
      yield* expectSendable(alice)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("another Twilio error does not opt out", () =>
    Effect.gen(function*() {
      yield* failNext(new TwilioApiError({ operation: "send", httpStatus: 400, code: 21211, detail: "Invalid 'To' Phone Number" }))
      yield* Effect.flip(sendSms({ to: alice }))
      yield* expectSendable(alice)
    }).pipe(Effect.provide(TestLayer())))
})

describe("with a Messaging Service", () => {
  const service = `MG${"ab".repeat(16)}`

  it.effect("STOP to one of the service's numbers refuses sends through the service", () =>
    Effect.gen(function*() {
      yield* inbound(alice, "STOP", { messagingServiceSid: service })
      const error = yield* refusedSend(alice)
      expect(error).toMatchObject({ _tag: "OptedOut", recipient: alice })
      expect(error.message).toContain("START")
    }).pipe(Effect.provide(TestLayer({ messagingServiceSid: service }))))
})
