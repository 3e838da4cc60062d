import * as Context from "effect/Context"
import type RequestClient from "twilio/lib/base/RequestClient.js"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { AppConfig, type AppConfigShape } from "../config/AppConfig.js"
import type { MessageStatus } from "../domain/Message.js"
import { TwilioApiError, TwilioUnreachable } from "./TwilioErrors.js"
import { toIso } from "../domain/Time.js"
import { declaredVariables, type Template, templateBody } from "../domain/Template.js"

export interface SendRequest {
  readonly to: string
  readonly from?: string | undefined
  readonly messagingServiceSid?: string | undefined
  readonly body: string
  readonly mediaUrls?: ReadonlyArray<string> | undefined
  readonly statusCallback: string
  /** A content template and its variables: sent instead of `body` (WhatsApp outside the 24-hour window). */
  readonly content?: { readonly sid: string; readonly variables: Readonly<Record<string, string>> } | undefined
}

/** The fields of Twilio's Message resource this server uses. */
export interface TwilioMessage {
  readonly sid: string
  readonly status: MessageStatus
  readonly to: string
  readonly from: string | null
  readonly body: string
  readonly direction: "inbound" | "outbound"
  readonly numSegments: number | undefined
  readonly errorCode: number | undefined
  readonly errorMessage: string | undefined
  readonly dateCreated: string | undefined
  readonly dateUpdated: string | undefined
}

export type TwilioError = TwilioApiError | TwilioUnreachable

export interface TwilioAccount {
  readonly sid: string
  readonly status: string
  readonly friendlyName: string
}

export interface TwilioNumber {
  readonly phoneNumber: string
  readonly smsUrl: string | null
  readonly smsMethod: string | null
}

export interface TwilioShape {
  readonly send: (request: SendRequest) => Effect.Effect<TwilioMessage, TwilioError>
  readonly fetchMessage: (sid: string) => Effect.Effect<TwilioMessage, TwilioError>
  /** Messages to `to` sent after `after`, newest first, at most `limit`: for catching up missed webhooks. */
  readonly listMessages: (query: { readonly to: string; readonly after: string; readonly limit: number }) => Effect.Effect<ReadonlyArray<TwilioMessage>, TwilioError>
  readonly fetchAccount: Effect.Effect<TwilioAccount, TwilioError>
  /** The account's phone number record, to check where its inbound webhook points. */
  readonly findNumber: (phoneNumber: string) => Effect.Effect<TwilioNumber | undefined, TwilioError>
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

interface SdkMessage {
  sid: string
  status: string
  to: string
  from: string | null
  body: string | null
  direction: string
  numSegments: string | null
  errorCode: number | null
  errorMessage: string | null
  dateCreated: Date | null
  dateUpdated: Date | null
}

const fromSdk = (m: SdkMessage): TwilioMessage => ({
  sid: m.sid,
  status: m.status as MessageStatus,
  to: m.to,
  from: m.from,
  body: m.body ?? "",
  direction: m.direction === "inbound" ? "inbound" : "outbound",
  numSegments: m.numSegments === null ? undefined : Number(m.numSegments),
  errorCode: m.errorCode ?? undefined,
  // Twilio's own words only: what a code means when Twilio gives none is added where messages are shown.
  errorMessage: m.errorMessage ?? undefined,
  dateCreated: toIso(m.dateCreated),
  dateUpdated: toIso(m.dateUpdated)
})

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
          statusCallback: request.statusCallback,
          ...(request.from === undefined ? {} : { from: request.from }),
          ...(request.messagingServiceSid === undefined ? {} : { messagingServiceSid: request.messagingServiceSid }),
          ...(request.mediaUrls && request.mediaUrls.length > 0 ? { mediaUrl: [...request.mediaUrls] } : {})
        })).pipe(Effect.map(fromSdk)),
    fetchMessage: (sid) => call("fetch message", false, (c) => c.messages(sid).fetch()).pipe(Effect.map(fromSdk)),
    listMessages: (query) =>
      call("list messages", false, (c) => c.messages.list({ to: query.to, dateSentAfter: new Date(query.after), limit: query.limit })).pipe(
        Effect.map((list) => list.map(fromSdk))
      ),
    fetchAccount: call("fetch account", false, (c) => c.api.v2010.accounts(config.accountSid).fetch()).pipe(
      Effect.map((a) => ({ sid: a.sid, status: a.status, friendlyName: a.friendlyName }))
    ),
    findNumber: (phoneNumber) =>
      call("find phone number", false, (c) => c.incomingPhoneNumbers.list({ phoneNumber, limit: 1 })).pipe(
        Effect.map(([n]) => n === undefined ? undefined : { phoneNumber: n.phoneNumber, smsUrl: n.smsUrl, smsMethod: n.smsMethod })
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
