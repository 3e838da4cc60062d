import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { AppConfig } from "../config/AppConfig.js"
import { OptedOut, SendRefused } from "../domain/Errors.js"
import { Database } from "../storage/Database.js"
import { OptOuts } from "../storage/OptOuts.js"
import { SendLog } from "../storage/SendLog.js"

const HOUR_MS = 60 * 60 * 1000

/**
 * Everything that must hold before a message goes out, checked before Twilio is called: the recipient
 * has not opted out and is allowed (SMS_ALLOWED_RECIPIENTS), and the hourly cap (SMS_MAX_PER_HOUR) is not
 * reached. A refusal names the rule.
 */
export class SendGuard extends Effect.Service<SendGuard>()("twilio-mcp/SendGuard", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const optOuts = yield* OptOuts
    const sendLog = yield* SendLog
    const database = yield* Database

    const hourAgo = Effect.map(Clock.currentTimeMillis, (now) => new Date(now - HOUR_MS).toISOString())

    const capReached = (max: number) =>
      Effect.gen(function*() {
        const sent = yield* sendLog.countSince(yield* hourAgo)
        if (sent >= max) {
          return yield* new SendRefused({
            rule: "SMS_MAX_PER_HOUR",
            detail: `${sent} messages sent in the last hour, the limit is ${max}; try again later`
          })
        }
      })

    /** The checks that need no slot: safe for dry runs. */
    const check = Effect.fn("SendGuard.check")(function*(to: string, sender: string) {
      const since = yield* optOuts.optedOutSince(to, sender)
      if (since !== undefined) return yield* new OptedOut({ recipient: to, sender, since })
      const allowed = config.allowedRecipients
      // The list names numbers: a WhatsApp recipient is allowed by its number.
      const number = to.replace(/^whatsapp:/, "")
      if (allowed !== undefined && !allowed.some((entry) => entry === number || (entry.length <= 4 && number.startsWith(entry)))) {
        return yield* new SendRefused({
          rule: "SMS_ALLOWED_RECIPIENTS",
          detail: `${to} is not in the allowed list (${allowed.join(", ")})`
        })
      }
      if (config.maxPerHour !== undefined) yield* capReached(config.maxPerHour)
    })

    /**
     * Reserves the send before Twilio is called: under the hourly cap (counted and written in one write
     * transaction, so concurrent sends in any process cannot pass together), and with room for the body,
     * so a full database refuses the send instead of losing the sent message. `release` gives the slot
     * back when Twilio clearly refused; `settle`, inside the transaction that stores the message, frees the
     * body's room for it.
     */
    const reserve = Effect.fn("SendGuard.reserve")(function*(now: string, body: string) {
      const slot = yield* database.writeTransaction(Effect.gen(function*() {
        if (config.maxPerHour !== undefined) yield* capReached(config.maxPerHour)
        return yield* sendLog.reserve(now, body)
      }))
      return { release: sendLog.release(slot), settle: sendLog.settle(slot) }
    })

    return { check, reserve } as const
  }),
  dependencies: [OptOuts.Default, SendLog.Default, Database.Default]
}) {}
