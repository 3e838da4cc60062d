import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { AppConfig } from "../config/AppConfig.js"
import { MessageNotFound } from "../domain/Errors.js"
import type { Message } from "../domain/Message.js"
import { nowIso } from "../domain/Time.js"
import { twilioErrorText } from "../domain/TwilioErrorAdvice.js"
import { MessageStore } from "../storage/MessageStore.js"
import { Twilio } from "../twilio/Twilio.js"
import { Ingest } from "./Ingest.js"

/** What became of a sent message: get_message_status. */
export class Delivery extends Effect.Service<Delivery>()("twilio-mcp/Delivery", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio
    const messages = yield* MessageStore
    const ingest = yield* Ingest

    /**
     * Live status from Twilio, written back (forward only). If Twilio cannot answer, the stored status
     * with a note that it is the last one known.
     */
    const status = Effect.fn("Delivery.status")(function*(sid: string) {
      const local = yield* messages.findBySid(sid)
      const remote = yield* Effect.either(twilio.fetchMessage(sid))
      if (Either.isLeft(remote)) {
        const error = remote.left
        const unknownToTwilio = error._tag === "TwilioApiError" && error.code === 20404
        if (Option.isNone(local)) return yield* (unknownToTwilio ? new MessageNotFound({ messageSid: sid }) : error)
        return {
          ...statusView(local.value),
          note: unknownToTwilio
            ? config.sandbox
              ? "The last status stored: each sandbox process has an in-memory Twilio of its own, and this one did not send the message."
              : "The last status stored: Twilio has no record of this message in this account (20404)."
            : `Last known status from local storage: Twilio could not be asked (${error.message}).`
        }
      }
      const live = remote.right
      if (Option.isNone(local)) {
        return {
          messageSid: live.sid,
          status: live.status as string,
          timestamp: live.dateUpdated ?? (yield* nowIso),
          to: live.to,
          ...(live.from === null || live.from === "" ? {} : { from: live.from }),
          ...(live.errorCode === undefined ? {} : { errorCode: live.errorCode, errorMessage: live.errorMessage ?? twilioErrorText(live.errorCode) })
        }
      }
      yield* ingest.status({ sid, status: live.status, errorCode: live.errorCode, errorMessage: live.errorMessage, at: yield* nowIso })
      const updated = yield* messages.findBySid(sid)
      return statusView(Option.getOrElse(updated, () => local.value), live.dateUpdated)
    })

    return { status } as const
  }),
  dependencies: [MessageStore.Default, Ingest.Default]
}) {}

const statusView = (m: Message, timestamp?: string) => ({
  messageSid: m.messageSid,
  status: m.status,
  timestamp: timestamp ?? m.timestamp,
  to: m.to,
  ...(m.from === "" ? {} : { from: m.from }),
  ...(m.errorCode === undefined ? {} : { errorCode: m.errorCode }),
  ...(m.errorMessage === undefined ? {} : { errorMessage: m.errorMessage })
})
