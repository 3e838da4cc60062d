import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AppConfig, defaultSender } from "../config/AppConfig.js"
import { type Address, type Channel, channelOf, type PhoneNumber } from "../domain/Address.js"
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
import { WhatsApp } from "./WhatsApp.js"

export interface SendInput {
  /** E.164, or whatsapp:+E.164. */
  readonly to: PhoneNumber
  /** Free-form text, or else a template: `contentSid` with its variables. */
  readonly message?: string | undefined
  readonly contentSid?: string | undefined
  readonly contentVariables?: Readonly<Record<string, string>> | undefined
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
  readonly channel: Channel
  readonly conversationId: string | null
  readonly timestamp: string
  /** WhatsApp: until when free-form text may follow; null when only a template may. */
  readonly windowOpenUntil?: string | null
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
    const whatsapp = yield* WhatsApp
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
      const route = yield* whatsapp.route(input.to, input.from)
      const useService = route?.useService ?? (input.from === undefined && config.messagingServiceSid !== undefined)
      const from: string = route?.sender ?? input.from ?? sender
      // Messaging Service traffic is threaded (and opted out) by the service, whichever number it used.
      const us = route?.us ?? (useService ? config.messagingServiceSid! : from)
      // The account's SMS senders; a WhatsApp sender is not among them (Twilio refuses a wrong one, 63007).
      if (input.from !== undefined && route === undefined) yield* checkSender(input.from)
      yield* guard.check(input.to, us)
      const target = input.conversationId === undefined
        ? yield* threading.plan([us, input.to])
        : yield* Effect.flatMap(threading.require(input.conversationId), (c) =>
          c.participants.includes(input.to)
            ? Effect.succeed(Option.some(c))
            : Effect.fail(new RecipientNotInConversation({ conversationId: c.id, to: input.to, participants: c.participants })))
      const now = yield* nowIso
      const content = yield* whatsapp.content({ ...input, media }, Option.getOrUndefined(target)?.id, now)
      return { media, useService, sender: from, us, target, content, segments: previewSegments(content.body), now }
    })

    /** A dry run: what `send` would do, without sending or writing. */
    const preview = Effect.fn("Sending.preview")(function*(input: SendInput) {
      const plan = yield* prepare(input)
      return {
        dryRun: true,
        status: "not sent (dry run)",
        to: input.to as string,
        from: plan.sender,
        channel: channelOf(input.to),
        conversationId: Option.match(plan.target, { onNone: () => null, onSome: (c) => c.id as string }),
        timestamp: plan.now,
        ...windowField(plan.content.windowOpenUntil),
        ...segmentFields(plan.segments)
      }
    })

    /**
     * Prepare, send, then store. Nothing is written when a check or Twilio refuses; storage failing after
     * Twilio accepted still reports the sent message, so the agent never resends. With an idempotency
     * key, the key is held from before the send.
     */
    const send = Effect.fn("Sending.send")(function*(input: SendInput) {
      const { content, media, now, segments: preview, sender, target, us, useService } = yield* prepare(input)
      const key = input.idempotencyKey
      if (key !== undefined) {
        const earlier = yield* sendKeys.reserve(key, { to: input.to, from: sender, text: content.body, mediaUrls: media }, now)
        if (earlier !== undefined) return { ...(earlier as SendResult), replayed: true } satisfies SendResult
      }
      const reservation = yield* guard.reserve(now, content.body).pipe(
        Effect.tapError(() => key === undefined ? Effect.void : Effect.ignore(sendKeys.release(key)))
      )
      const sent = yield* twilio.send({
        to: input.to,
        body: content.body,
        content: content.content,
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
        channel: channelOf(input.to),
        conversationId,
        timestamp: now,
        ...windowField(content.windowOpenUntil),
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
            body: content.body,
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
    WhatsApp.Default,
    InboundFetcher.Default
  ]
}) {}

/** The window, for WhatsApp sends only. */
const windowField = (windowOpenUntil: string | null | undefined) => windowOpenUntil === undefined ? {} : { windowOpenUntil }
