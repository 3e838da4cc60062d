import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Redacted from "effect/Redacted"
import type * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { AppConfig } from "../config/AppConfig.js"
import { TwilioApiError } from "../twilio/TwilioErrors.js"
import { type MessageStatus, randomSid } from "../domain/Message.js"
import { nowIso } from "../domain/Time.js"
import { SMS_PATH } from "../domain/WebhookPaths.js"
import { templateFromSdk, Twilio, type TwilioError, type TwilioShape } from "./Twilio.js"
import type { SendRequest, TwilioMessage, TwilioNumber } from "./TwilioResources.js"

export interface SentMessage extends TwilioMessage {
  readonly statusCallback: string | undefined
  readonly mediaUrls: ReadonlyArray<string>
  readonly content?: SendRequest["content"]
}

/** Controls of the in-memory Twilio, for tests and the sandbox. */
export interface TwilioMemoryShape {
  readonly sent: Effect.Effect<ReadonlyArray<SentMessage>>
  /** The next call fails with this error instead of reaching the fake. */
  readonly failNext: (error: TwilioError) => Effect.Effect<void>
  readonly setStatus: (sid: string, status: MessageStatus, errorCode?: number) => Effect.Effect<void>
  /** A text Twilio received for our number (now) whose webhook reached no one: what catch-up fetches. */
  readonly receive: (from: string, body: string) => Effect.Effect<void>
  /** Every message sent from now on, as it is accepted: the sandbox advances their statuses. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<SentMessage>, never, Scope.Scope>
}

export class TwilioMemory extends Context.Tag("twilio-mcp/TwilioMemory")<TwilioMemory, TwilioMemoryShape>() {
  /**
   * Provides both `Twilio` (the fake) and `TwilioMemory` (its controls). The account owns TWILIO_PHONE_NUMBER
   * and `otherNumbers` (tests send `from` one of those).
   */
  static readonly owning = (otherNumbers: ReadonlyArray<string>) => Layer.effectContext(
    Effect.gen(function*() {
      const config = yield* AppConfig
      const owned = [...(config.phoneNumber === undefined ? [] : [config.phoneNumber]), ...otherNumbers]
      const messages = yield* Ref.make(new Map<string, SentMessage>())
      const failures = yield* Ref.make<ReadonlyArray<TwilioError>>([])
      const accepted = yield* PubSub.unbounded<SentMessage>()

      const injected = Effect.flatMap(
        Ref.modify(failures, ([first, ...rest]) => [first, rest] as const),
        (error) => (error === undefined ? Effect.void : Effect.fail(error))
      )

      const notFound = (messageSid: string) =>
        new TwilioApiError({ operation: "fetch message", httpStatus: 404, code: 20404, detail: `Message ${messageSid} was not found` })

      const send = (request: SendRequest) =>
        Effect.gen(function*() {
          yield* injected
          const from = request.from ?? config.phoneNumber ?? null
          if (request.from !== undefined && !owned.includes(request.from) && request.from !== config.whatsappNumber) {
            return yield* new TwilioApiError({
              operation: "send",
              httpStatus: 400,
              code: 21606,
              detail: `The From phone number ${request.from} is not a valid, SMS-capable inbound phone number for your account`
            })
          }
          const now = yield* nowIso
          const media = request.mediaUrls ?? []
          const message: SentMessage = {
            sid: yield* randomSid(media.length > 0 ? "MM" : "SM"),
            status: "queued",
            to: request.to,
            from,
            body: request.body,
            direction: "outbound",
            numSegments: Math.max(1, Math.ceil(request.body.length / 160)),
            numMedia: media.length,
            messagingServiceSid: request.messagingServiceSid,
            errorCode: undefined,
            errorMessage: undefined,
            dateCreated: now,
            dateUpdated: now,
            statusCallback: request.statusCallback,
            mediaUrls: media,
            ...(request.content === undefined ? {} : { content: request.content })
          }
          yield* Ref.update(messages, (m) => new Map(m).set(message.sid, message))
          yield* PubSub.publish(accepted, message)
          return message as TwilioMessage
        })

      const fetchMessage = (messageSid: string) =>
        Effect.gen(function*() {
          yield* injected
          const found = (yield* Ref.get(messages)).get(messageSid)
          return found === undefined ? yield* notFound(messageSid) : (found as TwilioMessage)
        })

      const controls: TwilioMemoryShape = {
        sent: Effect.map(Ref.get(messages), (m) => Array.from(m.values())),
        subscribe: PubSub.subscribe(accepted),
        failNext: (error) => Ref.update(failures, (f) => [...f, error]),
        receive: (from, body) =>
          Effect.gen(function*() {
            const now = yield* nowIso
            const message: SentMessage = {
              sid: yield* randomSid("SM"),
              status: "received",
              to: config.phoneNumber ?? "",
              from,
              body,
              direction: "inbound",
              numSegments: 1,
              errorCode: undefined,
              errorMessage: undefined,
              dateCreated: now,
              dateUpdated: now,
              numMedia: 0,
              messagingServiceSid: undefined,
              statusCallback: "",
              mediaUrls: []
            }
            yield* Ref.update(messages, (m) => new Map(m).set(message.sid, message))
          }),
        setStatus: (messageSid, status, errorCode) =>
          Effect.flatMap(nowIso, (now) =>
            Ref.update(messages, (m) => {
              const found = m.get(messageSid)
              return found === undefined
                ? m
                : new Map(m).set(messageSid, { ...found, status, errorCode, dateUpdated: now })
            }))
      }

      // The one number, its messaging webhook pointing at this server; no Messaging Service, no A2P campaign.
      const number = yield* Ref.make<TwilioNumber | undefined>(
        config.phoneNumber === undefined ? undefined : {
          sid: `PN${"0".repeat(32)}`,
          phoneNumber: config.phoneNumber,
          smsUrl: `${Redacted.value(config.webhookSigningBaseUrl)}${SMS_PATH}`,
          smsMethod: "POST",
          capabilities: { sms: true, mms: true }
        }
      )
      const serviceNotFound = (serviceSid: string) =>
        new TwilioApiError({ operation: "fetch Messaging Service", httpStatus: 404, code: 20404, detail: `Service ${serviceSid} was not found` })

      const twilio: TwilioShape = {
        send,
        fetchMessage,
        // One page, newest first: the fake keeps few messages.
        messagePage: (query) =>
          Effect.zipRight(
            injected,
            Effect.map(Ref.get(messages), (m) => ({
              messages: Array.from(m.values()).filter((msg) => msg.to === query.to).reverse().slice(0, query.pageSize) as ReadonlyArray<TwilioMessage>,
              nextPageUrl: undefined
            }))
          ),
        listMedia: (messageSid) =>
          Effect.map(fetchMessage(messageSid), (m) => (m as SentMessage).mediaUrls.map((url) => ({ url, contentType: "application/octet-stream" }))),
        senders: Effect.as(injected, owned),
        fetchAccount: Effect.as(injected, { sid: config.accountSid, status: "active", friendlyName: "In-memory sandbox", type: "Full" }),
        findNumber: (phoneNumber) => Effect.zipRight(injected, Effect.map(Ref.get(number), (n) => (n?.phoneNumber === phoneNumber ? n : undefined))),
        setNumberSmsUrl: (numberSid, smsUrl) =>
          Effect.zipRight(
            injected,
            Effect.flatMap(Ref.updateAndGet(number, (n) => (n?.sid === numberSid ? { ...n, smsUrl, smsMethod: "POST" } : n)), (n) =>
              n?.sid === numberSid ? Effect.succeed(n) : Effect.fail(new TwilioApiError({ operation: "update phone number", httpStatus: 404, code: 20404, detail: `Number ${numberSid} was not found` })))
          ),
        serviceOfNumber: () => Effect.as(injected, undefined),
        fetchService: (serviceSid) => Effect.zipRight(injected, Effect.fail(serviceNotFound(serviceSid))),
        setServiceInboundUrl: (serviceSid) => Effect.zipRight(injected, Effect.fail(serviceNotFound(serviceSid))),
        a2pCampaigns: () => Effect.as(injected, []),
        listTemplates: Effect.as(injected, MEMORY_TEMPLATES)
      }
      return Context.make(Twilio, twilio).pipe(Context.add(TwilioMemory, controls))
    })
  )

  /** The fake owning TWILIO_PHONE_NUMBER alone: the sandbox's. */
  static readonly layer = TwilioMemory.owning([])
}

/** The in-memory account's content templates: one approved for WhatsApp with two variables, one never submitted. */
export const MEMORY_TEMPLATES = [
  templateFromSdk({
    sid: `HX${"a1".repeat(16)}`,
    friendlyName: "appointment_reminder",
    language: "en",
    variables: { 1: "Monday", 2: "3pm" },
    types: { "twilio/text": { body: "Your appointment is on {{1}} at {{2}}. Reply to confirm." } },
    approvalRequests: { name: "appointment_reminder", category: "UTILITY", status: "approved", rejection_reason: "" }
  }),
  templateFromSdk({
    sid: `HX${"b2".repeat(16)}`,
    friendlyName: "welcome",
    language: "en",
    variables: {},
    types: { "twilio/text": { body: "Welcome! Reply to this message to start." } },
    approvalRequests: null
  })
]
