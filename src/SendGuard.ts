import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { AppConfig } from "./Config.js"
import { OptedOut, SendRefused } from "./domain/Errors.js"
import { MessageStore } from "./MessageStore.js"
import { OptOuts } from "./OptOuts.js"

const HOUR_MS = 60 * 60 * 1000

/**
 * Everything that must hold before a message goes out, checked before Twilio is called: the recipient
 * has not opted out, is allowed (SMS_ALLOWED_RECIPIENTS), and the hourly cap (SMS_MAX_PER_HOUR, counted
 * over every process sharing the database) is not reached. A refusal names the rule.
 */
export class SendGuard extends Effect.Service<SendGuard>()("twilio-mcp/SendGuard", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const messages = yield* MessageStore
    const optOuts = yield* OptOuts

    const check = (to: string, sender: string) =>
      Effect.gen(function*() {
        const since = yield* optOuts.optedOutSince(to, sender)
        if (since !== undefined) return yield* new OptedOut({ recipient: to, sender, since })
        const allowed = config.allowedRecipients
        if (allowed !== undefined && !allowed.some((entry) => entry === to || (entry.length <= 4 && to.startsWith(entry)))) {
          return yield* new SendRefused({
            rule: "SMS_ALLOWED_RECIPIENTS",
            detail: `${to} is not in the allowed list (${allowed.join(", ")})`
          })
        }
        if (config.maxPerHour !== undefined) {
          const now = yield* Clock.currentTimeMillis
          const sent = yield* messages.countOutboundSince(new Date(now - HOUR_MS).toISOString())
          if (sent >= config.maxPerHour) {
            return yield* new SendRefused({
              rule: "SMS_MAX_PER_HOUR",
              detail: `${sent} messages sent in the last hour, the limit is ${config.maxPerHour}; try again later`
            })
          }
        }
      })

    return { check } as const
  })
}) {}
