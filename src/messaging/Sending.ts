import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AppConfig, defaultSender } from "../config/AppConfig.js"
import type { Address, PhoneNumber } from "../domain/Address.js"
import type { Conversation, ConversationId } from "../domain/Conversation.js"
import { MmsDisabled, RecipientNotInConversation, SenderNotOwned } from "../domain/Errors.js"
import { nowIso } from "../domain/Time.js"
import { STATUS_PATH } from "../domain/WebhookPaths.js"
import { Database } from "../storage/Database.js"
import { MessageStore } from "../storage/MessageStore.js"
import { OptOuts } from "../storage/OptOuts.js"
import { SendKeys } from "../storage/SendKeys.js"
import { Twilio } from "../twilio/Twilio.js"
import { InboundFetcher } from "./InboundFetcher.js"
import { previewSegments, type SegmentPreview } from "./Segments.js"
import { SendGuard } from "./SendGuard.js"
import { Threading } from "./Threading.js"

export interface SendInput {
  readonly to: PhoneNumber
  readonly message: string
  readonly from?: PhoneNumber | undefined
  readonly conversationId?: ConversationId | undefined
  readonly mediaUrls?: ReadonlyArray<string> | undefined
  readonly idempotencyKey?: string | undefined
}

export interface SendResult {
  readonly messageSid: string
  readonly status: string
  readonly to: string
  readonly from: string
  readonly conversationId: string | null
  readonly timestamp: string
  readonly segments: number
  readonly encoding: string
  readonly nonGsmCharacters?: ReadonlyArray<string>
  readonly replayed?: boolean
  readonly warning?: string
}

/** Segment fields of a send result; the UCS-2 culprits only when there are some. */
const segmentFields = (preview: SegmentPreview) => ({
  segments: preview.segments,
  encoding: preview.encoding,
  ...(preview.nonGsmCharacters.length > 0 ? { nonGsmCharacters: preview.nonGsmCharacters } : {})
})

/**
 * Sending a text: the checks before it (sender, guard, thread, segments), the dry run, and the send itself,
 * stored in one transaction after Twilio accepted it.
 */
export class Sending extends Effect.Service<Sending>()("twilio-mcp/Sending", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio
    const fetcher = yield* InboundFetcher
    const messages = yield* MessageStore
    const threading = yield* Threading
    const guard = yield* SendGuard
    const optOuts = yield* OptOuts
    const sendKeys = yield* SendKeys
    const database = yield* Database
    const sender = defaultSender(config)

    /**
     * The account's senders, asked of Twilio once and kept 10 minutes. Only a list Twilio gave is acted on: if
     * it cannot be had, Twilio itself refuses a wrong `from` (21606, with advice).
     */
    const [ownSenders, forgetSenders] = yield* Effect.cachedInvalidateWithTTL(twilio.senders, Duration.minutes(10))
    const checkSender = (from: string) =>
      Effect.flatMap(Effect.either(ownSenders), (senders) => {
        if (Either.isLeft(senders)) return forgetSenders
        return senders.right.includes(from) ? Effect.void : Effect.fail(new SenderNotOwned({ from, senders: senders.right }))
      })

    /**
     * Everything decided before a send, with no writes: the sender, the guard's checks (opt-out, allowed
     * recipients, hourly cap), the thread (existing, or one that may be created), and the segment count.
     */
    const prepare = Effect.fn("Sending.prepare")(function*(input: SendInput) {
      const media = input.mediaUrls ?? []
      if (media.length > 0 && !config.enableMms) return yield* new MmsDisabled()
      const useService = input.from === undefined && config.messagingServiceSid !== undefined
      const from: string = input.from ?? sender
      // Messaging Service traffic is threaded (and opted out) by the service, whichever number it used.
      const us = useService ? config.messagingServiceSid! : from
      if (input.from !== undefined) yield* checkSender(input.from)
      yield* guard.check(input.to, us)
      const target = input.conversationId === undefined
        ? yield* threading.plan([us, input.to])
        : yield* Effect.flatMap(threading.require(input.conversationId), (c) =>
          c.participants.includes(input.to)
            ? Effect.succeed(Option.some(c))
            : Effect.fail(new RecipientNotInConversation({ conversationId: c.id, to: input.to, participants: c.participants })))
      return { media, useService, sender: from, us, target, segments: previewSegments(input.message), now: yield* nowIso }
    })

    /** A dry run: what `send` would do, without sending or writing. */
    const preview = Effect.fn("Sending.preview")(function*(input: SendInput) {
      const plan = yield* prepare(input)
      return {
        dryRun: true,
        status: "not sent (dry run)",
        to: input.to as string,
        from: plan.sender,
        conversationId: Option.match(plan.target, { onNone: () => null, onSome: (c) => c.id as string }),
        timestamp: plan.now,
        ...segmentFields(plan.segments)
      }
    })

    /**
     * Prepare, send, then store. Nothing is written when a check or Twilio refuses; storage failing after
     * Twilio accepted still reports the sent message, so the agent never resends. With an idempotency
     * key, the key is held from before the send.
     */
    const send = Effect.fn("Sending.send")(function*(input: SendInput) {
      const { media, now, segments: preview, sender, target, us, useService } = yield* prepare(input)
      const key = input.idempotencyKey
      if (key !== undefined) {
        const earlier = yield* sendKeys.reserve(key, { to: input.to, from: sender, text: input.message, mediaUrls: media }, now)
        if (earlier !== undefined) return { ...(earlier as SendResult), replayed: true } satisfies SendResult
      }
      const reservation = yield* guard.reserve(now, input.message).pipe(
        Effect.tapError(() => key === undefined ? Effect.void : Effect.ignore(sendKeys.release(key)))
      )
      const sent = yield* twilio.send({
        to: input.to,
        body: input.message,
        from: useService ? undefined : sender,
        messagingServiceSid: useService ? config.messagingServiceSid : undefined,
        mediaUrls: media,
        // The URL as configured, credentials included: Twilio calls and signs it with them.
        // Without a public URL it would point nowhere: statuses are fetched instead.
        statusCallback: config.inbound === "webhook" ? `${Redacted.value(config.webhookSigningBaseUrl)}${STATUS_PATH}` : undefined
      }).pipe(
        Effect.tapError((error) =>
          Effect.all([
            // A clear refusal sent nothing: the key and the slot are given back. An ambiguous failure keeps them.
            key !== undefined && error._tag === "TwilioApiError" ? sendKeys.release(key) : Effect.void,
            error._tag === "TwilioApiError" ? reservation.release : Effect.void,
            error._tag === "TwilioApiError" && error.code === 21610
              ? optOuts.record([{ recipient: input.to, sender: us, change: "opt-out", source: "twilio 21610", at: now }])
              : Effect.void
          ]).pipe(Effect.ignore)
        )
      )
      yield* fetcher.afterSend
      const from = sent.from ?? sender
      const result = (conversationId: string | null): SendResult => ({
        messageSid: sent.sid,
        status: sent.status,
        to: input.to,
        from,
        conversationId,
        timestamp: now,
        ...segmentFields(preview)
      })

      const stored = yield* database.writeTransaction(
        Effect.gen(function*() {
          yield* reservation.settle
          const conversation: Conversation = Option.isSome(target)
            ? target.value
            : (yield* threading.open([useService ? us : from, input.to], null, now)).conversation
          yield* messages.insertMany([{
            sid: sent.sid,
            direction: "outbound",
            from: from as Address,
            to: input.to as string as Address,
            body: input.message,
            status: sent.status,
            conversationId: conversation.id,
            errorCode: sent.errorCode,
            numSegments: sent.numSegments ?? preview.segments,
            media: media.map((url) => ({ url })),
            messagingServiceSid: useService ? config.messagingServiceSid : undefined,
            twilioCreatedAt: sent.dateCreated
          }], now)
          yield* threading.touch([{ id: conversation.id, at: now }])
          const sentResult = result(conversation.id)
          if (key !== undefined) yield* sendKeys.complete(key, sentResult)
          return sentResult
        })
      ).pipe(
        Effect.tapError((e) => Effect.logError("message sent but not stored", e.message).pipe(Effect.annotateLogs("sid", sent.sid))),
        Effect.either
      )
      return Either.getOrElse(stored, (error): SendResult => ({
        ...result(null),
        warning: `Sent, but not stored locally (${error.detail}). Do not resend; check get_message_status.`
      }))
    })

    return { preview, send } as const
  }),
  dependencies: [
    MessageStore.Default,
    Threading.Default,
    SendGuard.Default,
    OptOuts.Default,
    SendKeys.Default,
    Database.Default,
    InboundFetcher.Default
  ]
}) {}
