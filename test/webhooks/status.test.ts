import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Database } from "../../src/storage/Database.js"
import type { Address } from "../../src/domain/Address.js"
import { MessageStore } from "../../src/storage/MessageStore.js"
import { TEST_PHONE } from "../support/TestLayer.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { ALICE, countEvents, countRows, expectTwiml, postStatus, sendTo, sid, statusParams, stored, withServer } from "./harness.js"

/** One callback: a status and, for failures, Twilio's ErrorCode. */
type Callback = readonly [status: string, errorCode?: number]

const callback = (messageSid: string, [status, errorCode]: Callback) =>
  postStatus(statusParams(messageSid, status, errorCode === undefined ? {} : { ErrorCode: String(errorCode) }))

const sendOne = Effect.map(sendTo(ALICE), (sent) => sent.messageSid)

interface Flow {
  readonly name: string
  readonly callbacks: ReadonlyArray<Callback>
  /** The stored status after each callback. */
  readonly trail: ReadonlyArray<string>
  readonly events: number
  readonly errorCode?: number
  readonly errorMessage?: string
}

const flows: ReadonlyArray<Flow> = [
  { name: "queued → sent → delivered, in order", callbacks: [["queued"], ["sent"], ["delivered"]], trail: ["queued", "sent", "delivered"], events: 3 },
  { name: "delivered, then a late sent: stays delivered", callbacks: [["delivered"], ["sent"]], trail: ["delivered", "delivered"], events: 2 },
  { name: "sending after sent: stays sent", callbacks: [["sent"], ["sending"]], trail: ["sent", "sent"], events: 2 },
  {
    name: "undelivered with ErrorCode 30003 keeps its code and message, even after a late sent",
    callbacks: [["sent"], ["undelivered", 30003], ["sent"]],
    trail: ["sent", "undelivered", "undelivered"],
    events: 2,
    errorCode: 30003,
    errorMessage: "Unreachable destination handset"
  },
  { name: "a terminal status is not replaced by another terminal one", callbacks: [["failed", 30007], ["delivered"]], trail: ["failed", "failed"], events: 2, errorCode: 30007 },
  { name: "read (WhatsApp) moves past delivered", callbacks: [["delivered"], ["read"]], trail: ["delivered", "read"], events: 2 },
  { name: "a duplicate callback is one event", callbacks: [["sent"], ["sent"], ["delivered"], ["delivered"]], trail: ["sent", "sent", "delivered", "delivered"], events: 2 }
]

describe("status callbacks", () => {
  flows.forEach((flow) =>
    it.live(flow.name, () =>
      Effect.gen(function*() {
        const messageSid = yield* sendOne
        const seen: Array<string> = []
        for (const step of flow.callbacks) {
          expectTwiml(yield* callback(messageSid, step))
          seen.push((yield* stored(messageSid)).status)
        }
        expect(seen).toEqual(flow.trail)
        expect(yield* countEvents(messageSid)).toBe(flow.events)
        const message = yield* stored(messageSid)
        expect(message.errorCode).toBe(flow.errorCode)
        if (flow.errorMessage !== undefined) expect(message.errorMessage).toBe(flow.errorMessage)
      }).pipe(withServer())))

  it.live("the StatusCallback URL given to Twilio is the URL the server verifies callbacks against", () =>
    Effect.gen(function*() {
      const messageSid = yield* sendOne
      const [sent] = yield* Effect.flatMap(TwilioMemory, (twilio) => twilio.sent)
      expectTwiml(yield* postStatus(statusParams(messageSid, "delivered"), { signedUrl: sent!.statusCallback! }))
      expect((yield* stored(messageSid)).status).toBe("delivered")
    }).pipe(withServer()))

  describe("a callback that beats the message's own insert", () => {
    const insertOutbound = (messageSid: string) =>
      Effect.gen(function*() {
        const store = yield* MessageStore
        const database = yield* Database
        const [inserted] = yield* database.writeTransaction(store.insertMany([{
          sid: messageSid,
          direction: "outbound",
          from: TEST_PHONE as string as Address,
          to: ALICE as Address,
          body: "raced",
          status: "queued",
          conversationId: null
        }], new Date().toISOString()))
        return inserted
      })

    it.live("is answered 200 and kept as an event, without inventing a message", () =>
      Effect.gen(function*() {
        expectTwiml(yield* callback(sid(7), ["delivered"]))
        expect(yield* countEvents(sid(7))).toBe(1)
        expect(yield* countRows("messages")).toBe(0)
      }).pipe(withServer()))

    it.live("is applied when the message is inserted later (status and error code)", () =>
      Effect.gen(function*() {
        for (const step of [["sent"], ["undelivered", 30003], ["sending"]] as const) {
          expectTwiml(yield* callback(sid(8), step))
        }
        expect(yield* insertOutbound(sid(8))).toBe(true)
        expect(yield* stored(sid(8))).toMatchObject({ status: "undelivered", errorCode: 30003, body: "raced" })
      }).pipe(withServer()))

    it.live("a later callback still moves it forward after the insert", () =>
      Effect.gen(function*() {
        expectTwiml(yield* callback(sid(9), ["sent"]))
        yield* insertOutbound(sid(9))
        expect((yield* stored(sid(9))).status).toBe("sent")
        expectTwiml(yield* callback(sid(9), ["delivered"]))
        expect((yield* stored(sid(9))).status).toBe("delivered")
      }).pipe(withServer()))
  })
})
