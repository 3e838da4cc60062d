import * as Context from "effect/Context"
import type RequestClient from "twilio/lib/base/RequestClient.js"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { AppConfig, type AppConfigShape } from "../config/AppConfig.js"
import { TwilioApiError, TwilioUnreachable } from "./TwilioErrors.js"
import { declaredVariables, type Template, templateBody } from "../domain/Template.js"
import {
  fromSdk,
  mediaUrl,
  type MessagePage,
  numberFromSdk,
  type SendRequest,
  serviceFromSdk,
  type TwilioAccount,
  type TwilioMedia,
  type TwilioMessage,
  type TwilioNumber,
  type TwilioService
} from "./TwilioResources.js"

export type TwilioError = TwilioApiError | TwilioUnreachable

export interface TwilioShape {
  readonly send: (request: SendRequest) => Effect.Effect<TwilioMessage, TwilioError>
  readonly fetchMessage: (sid: string) => Effect.Effect<TwilioMessage, TwilioError>
  /** The newest `pageSize` messages to `to`, or the page at `pageUrl` (a previous page's `nextPageUrl`). */
  readonly messagePage: (query: { readonly to: string; readonly pageSize: number; readonly pageUrl?: string | undefined }) => Effect.Effect<MessagePage, TwilioError>
  /** An MMS's media; each URL needs the account's Basic auth to download, as a webhook's `MediaUrl{N}`. */
  readonly listMedia: (messageSid: string) => Effect.Effect<ReadonlyArray<TwilioMedia>, TwilioError>
  readonly fetchAccount: Effect.Effect<TwilioAccount, TwilioError>
  /** The account's phone number record, to check where its inbound webhook points. */
  readonly findNumber: (phoneNumber: string) => Effect.Effect<TwilioNumber | undefined, TwilioError>
  /** Points a number's inbound messages at `smsUrl` (HTTP POST). */
  readonly setNumberSmsUrl: (numberSid: string, smsUrl: string) => Effect.Effect<TwilioNumber, TwilioError>
  /** The Messaging Service `phoneNumber` belongs to, if any. */
  readonly serviceOfNumber: (phoneNumber: string) => Effect.Effect<TwilioService | undefined, TwilioError>
  readonly fetchService: (serviceSid: string) => Effect.Effect<TwilioService, TwilioError>
  /** Points a Messaging Service's inbound messages at `url` (HTTP POST). */
  readonly setServiceInboundUrl: (serviceSid: string, url: string) => Effect.Effect<TwilioService, TwilioError>
  /** The US A2P 10DLC campaigns registered on a Messaging Service, each with Twilio's status (VERIFIED…). */
  readonly a2pCampaigns: (serviceSid: string) => Effect.Effect<ReadonlyArray<{ readonly campaignStatus: string }>, TwilioError>
  /** The numbers a message may be sent from: the account's, and the Messaging Service's if one is configured. */
  readonly senders: Effect.Effect<ReadonlyArray<string>, TwilioError>

  // WhatsApp (issue 23)
  /** The account's content templates, with WhatsApp's approval of each. */
  readonly listTemplates: Effect.Effect<ReadonlyArray<Template>, TwilioError>
}

/** Twilio's REST API. `Twilio.live` talks to Twilio (or TWILIO_API_BASE_URL); TwilioMemory fakes it. */
export class Twilio extends Context.Tag("twilio-mcp/Twilio")<Twilio, TwilioShape>() {
  static readonly live = Layer.effect(Twilio, Effect.map(AppConfig, (config) => makeLive(config)))
}


/**
 * Turns what the SDK threw into a tagged error. A REST error means Twilio answered and did not act,
 * except a 5xx, which like a timeout or reset is ambiguous for a send. Connection refused never reached
 * Twilio, so nothing can have been sent.
 */
export const mapSdkError = (operation: string, isSend: boolean) => (error: unknown): TwilioError => {
  const e = error as { status?: number; code?: number | string; message?: string }
  if (typeof e.status === "number" && e.status < 500) {
    const code = typeof e.code === "number" ? e.code : undefined
    return new TwilioApiError({
      operation,
      httpStatus: e.status,
      code,
      detail: e.message ?? "request failed"
    })
  }
  const refused = e.code === "ECONNREFUSED" || e.code === "ENOTFOUND" || e.code === "EAI_AGAIN"
  const reason = typeof e.status === "number"
    ? `HTTP ${e.status} from Twilio`
    : e.code === "ECONNABORTED" || e.code === "ETIMEDOUT"
    ? "request timed out"
    // Twilio answered 2xx, but with a body that is not JSON: it may well have acted on the request.
    : error instanceof SyntaxError
    ? `unreadable answer from Twilio (${e.message})`
    : `${e.code ?? "network error"}${e.message ? `: ${e.message}` : ""}`
  // Say so plainly: the agent may send again without risking a duplicate.
  const notSent = isSend && refused ? "; the request never reached Twilio, so the message was not sent" : ""
  return new TwilioUnreachable({ operation, reason: reason + notSent, mayHaveSent: isSend && !refused })
}

/** 429 / 20429 mean the request was never processed: the only failures safe to retry, sends included. */
const isRateLimited = (error: TwilioError) =>
  error._tag === "TwilioApiError" && (error.httpStatus === 429 || error.code === 20429)

export const rateLimitRetry = Schedule.exponential(Duration.millis(250), 2).pipe(
  Schedule.intersect(Schedule.recurs(3))
)

/** Timeout and retry options go to the request client: the SDK ignores its own when one is passed. */
const makeClient = async (config: AppConfigShape) => {
  const { default: twilio } = await import("twilio")
  const base = config.twilioApiBaseUrl
  class RoutedRequestClient extends twilio.RequestClient {
    override request<T>(opts: RequestClient.RequestOptions<T>) {
      // https://api.twilio.com/… → base/…, https://<product>.twilio.com/… → base/<product>/…
      const uri = base === undefined ? opts.uri : opts.uri.replace(
        // Edge and region hosts (api.sydney.us1.twilio.com) too: the product is the first label.
        /^https:\/\/([a-z0-9-]+)(?:\.[a-z0-9-]+)*\.twilio\.com/,
        (_m, product: string) => (product === "api" ? base : `${base}/${product}`)
      )
      return super.request<T>({ ...opts, uri })
    }
  }
  return twilio(config.accountSid, Redacted.value(config.authToken), {
    httpClient: new RoutedRequestClient({ timeout: config.twilioTimeoutMs, autoRetry: false })
  })
}

const makeLive = (config: AppConfigShape): TwilioShape => {
  // The SDK costs ~200 ms to import: load it on first use, not at start-up.
  let client: ReturnType<typeof makeClient> | undefined
  const sdk = Effect.promise(() => (client ??= makeClient(config)))

  const call = <A>(operation: string, isSend: boolean, f: (c: Awaited<ReturnType<typeof makeClient>>) => Promise<A>) =>
    Effect.flatMap(sdk, (c) =>
      Effect.tryPromise({ try: () => f(c), catch: mapSdkError(operation, isSend) }).pipe(
        // A hard bound above the SDK's own socket timeout, for servers that accept and never answer.
        Effect.timeoutFail({
          duration: Duration.millis(config.twilioTimeoutMs + 1000),
          onTimeout: () => new TwilioUnreachable({ operation, reason: "request timed out", mayHaveSent: isSend })
        }),
        Effect.retry({ schedule: rateLimitRetry, while: isRateLimited })
      ))

  return {
    send: (request) =>
      call("send", true, (c) =>
        c.messages.create({
          to: request.to,
          ...(request.content === undefined
            ? { body: request.body }
            : { contentSid: request.content.sid, contentVariables: JSON.stringify(request.content.variables) }),
          ...(request.statusCallback === undefined ? {} : { statusCallback: request.statusCallback }),
          ...(request.from === undefined ? {} : { from: request.from }),
          ...(request.messagingServiceSid === undefined ? {} : { messagingServiceSid: request.messagingServiceSid }),
          ...(request.mediaUrls && request.mediaUrls.length > 0 ? { mediaUrl: [...request.mediaUrls] } : {})
        })).pipe(Effect.map(fromSdk)),
    fetchMessage: (sid) => call("fetch message", false, (c) => c.messages(sid).fetch()).pipe(Effect.map(fromSdk)),
    messagePage: (query) =>
      call("list messages", false, (c) =>
        query.pageUrl === undefined ? c.messages.page({ to: query.to, pageSize: query.pageSize }) : c.messages.getPage(query.pageUrl)).pipe(
          Effect.map((page) => ({ messages: page.instances.map(fromSdk), nextPageUrl: page.nextPageUrl }))
        ),
    listMedia: (messageSid) =>
      call("list media", false, (c) => c.messages(messageSid).media.list({ limit: 10 })).pipe(
        Effect.map((list) => list.map((m) => ({ url: mediaUrl(m.uri), contentType: m.contentType })))
      ),
    fetchAccount: call("fetch account", false, (c) => c.api.v2010.accounts(config.accountSid).fetch()).pipe(
      Effect.map((a) => ({ sid: a.sid, status: a.status, friendlyName: a.friendlyName, type: a.type }))
    ),
    findNumber: (phoneNumber) =>
      call("find phone number", false, (c) => c.incomingPhoneNumbers.list({ phoneNumber, limit: 1 })).pipe(
        Effect.map(([n]) => n === undefined ? undefined : numberFromSdk(n))
      ),
    setNumberSmsUrl: (numberSid, smsUrl) =>
      call("update phone number", false, (c) => c.incomingPhoneNumbers(numberSid).update({ smsUrl, smsMethod: "POST" })).pipe(
        Effect.map(numberFromSdk)
      ),
    serviceOfNumber: (phoneNumber) =>
      Effect.gen(function*() {
        const services = yield* call("list Messaging Services", false, (c) => c.messaging.v1.services.list({ limit: 100 }))
        for (const service of services) {
          const numbers = yield* call("list Messaging Service senders", false, (c) => c.messaging.v1.services(service.sid).phoneNumbers.list({ limit: 1000 }))
          if (numbers.some((n) => n.phoneNumber === phoneNumber)) return serviceFromSdk(service)
        }
        return undefined
      }),
    fetchService: (serviceSid) =>
      call("fetch Messaging Service", false, (c) => c.messaging.v1.services(serviceSid).fetch()).pipe(Effect.map(serviceFromSdk)),
    setServiceInboundUrl: (serviceSid, url) =>
      call("update Messaging Service", false, (c) => c.messaging.v1.services(serviceSid).update({ inboundRequestUrl: url, inboundMethod: "POST" })).pipe(
        Effect.map(serviceFromSdk)
      ),
    a2pCampaigns: (serviceSid) =>
      call("list A2P campaigns", false, (c) => c.messaging.v1.services(serviceSid).usAppToPerson.list({ limit: 20 })).pipe(
        Effect.map((list) => list.map((campaign) => ({ campaignStatus: campaign.campaignStatus })))
      ),
    senders: Effect.all([
      call("list phone numbers", false, (c) => c.incomingPhoneNumbers.list({ limit: 1000 })),
      config.messagingServiceSid === undefined
        ? Effect.succeed([])
        : call("list Messaging Service senders", false, (c) => c.messaging.v1.services(config.messagingServiceSid!).phoneNumbers.list({ limit: 1000 }))
    ]).pipe(Effect.map(([numbers, service]) => [...numbers, ...service].map((n) => n.phoneNumber))),

    // WhatsApp (issue 23)
    listTemplates: call("list content templates", false, (c) => c.content.v1.contentAndApprovals.list({ limit: TEMPLATES_LISTED })).pipe(
      Effect.map((list) => list.map(templateFromSdk))
    )
  }
}

// WhatsApp (issue 23)

/** The most templates listed: WhatsApp accounts have tens; Twilio allows a few thousand. */
const TEMPLATES_LISTED = 500

interface SdkTemplate {
  sid: string
  friendlyName: string
  language: string
  variables: Record<string, unknown> | null
  types: Record<string, unknown> | null
  approvalRequests: Record<string, unknown> | null
}

const nonEmpty = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined)

/** A ContentAndApprovals item; `approval_requests` is WhatsApp's review, in Twilio's snake_case. */
export const templateFromSdk = (t: SdkTemplate): Template => {
  const types = t.types ?? {}
  const body = templateBody(types)
  const approval = t.approvalRequests ?? {}
  const status = nonEmpty(approval.status)
  const category = nonEmpty(approval.category)
  const rejectionReason = nonEmpty(approval.rejection_reason)
  return {
    contentSid: t.sid,
    name: t.friendlyName,
    language: t.language,
    ...(body === undefined ? {} : { body }),
    variables: declaredVariables(t.variables ?? {}, types),
    ...(status === undefined
      ? {}
      : { whatsapp: { status, ...(category === undefined ? {} : { category }), ...(rejectionReason === undefined ? {} : { rejectionReason }) } })
  }
}
