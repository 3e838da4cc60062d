import type { MessageStatus } from "../domain/Message.js"
import { toIso } from "../domain/Time.js"

// Twilio's resources as this server uses them, and the SDK's instances mapped to them.

export interface SendRequest {
  readonly to: string
  readonly from?: string | undefined
  readonly messagingServiceSid?: string | undefined
  readonly body: string
  readonly mediaUrls?: ReadonlyArray<string> | undefined
  /** Where Twilio posts the message's statuses; none without a public URL (they are fetched instead). */
  readonly statusCallback: string | undefined
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
  /** How many media an MMS carries: their URLs are a `listMedia` away. */
  readonly numMedia: number
  readonly messagingServiceSid: string | undefined
  readonly errorCode: number | undefined
  readonly errorMessage: string | undefined
  readonly dateCreated: string | undefined
  readonly dateUpdated: string | undefined
}


export interface TwilioAccount {
  readonly sid: string
  readonly status: string
  readonly friendlyName: string
  /** `Trial` (sends only to verified numbers), `Full`, or `SubAccount`. */
  readonly type: string
}

export interface TwilioNumber {
  readonly sid: string
  readonly phoneNumber: string
  readonly smsUrl: string | null
  readonly smsMethod: string | null
  readonly capabilities: { readonly sms: boolean; readonly mms: boolean }
}

/** A Messaging Service's inbound settings: its URL wins over its numbers' unless `useInboundWebhookOnNumber`. */
export interface TwilioService {
  readonly sid: string
  readonly friendlyName: string
  readonly inboundRequestUrl: string | null
  readonly inboundMethod: string | null
  readonly useInboundWebhookOnNumber: boolean
}

/** One page of a message list, newest first, and where the next (older) one is. */
export interface MessagePage {
  readonly messages: ReadonlyArray<TwilioMessage>
  readonly nextPageUrl: string | undefined
}

/** An MMS's media as a webhook names them (`MediaUrl{N}`, `MediaContentType{N}`). */
export interface TwilioMedia {
  readonly url: string
  readonly contentType: string
}

interface SdkMessage {
  sid: string
  status: string
  to: string
  from: string | null
  body: string | null
  direction: string
  numSegments: string | null
  numMedia: string | null
  messagingServiceSid: string | null
  errorCode: number | null
  errorMessage: string | null
  dateCreated: Date | null
  dateUpdated: Date | null
}

export const fromSdk = (m: SdkMessage): TwilioMessage => ({
  sid: m.sid,
  status: m.status as MessageStatus,
  to: m.to,
  from: m.from,
  body: m.body ?? "",
  direction: m.direction === "inbound" ? "inbound" : "outbound",
  numSegments: m.numSegments === null ? undefined : Number(m.numSegments),
  numMedia: Number(m.numMedia ?? 0) || 0,
  messagingServiceSid: m.messagingServiceSid ?? undefined,
  errorCode: m.errorCode ?? undefined,
  // Twilio's own words only: what a code means when Twilio gives none is added where messages are shown.
  errorMessage: m.errorMessage ?? undefined,
  dateCreated: toIso(m.dateCreated),
  dateUpdated: toIso(m.dateUpdated)
})

/** A media resource's URI as a webhook's `MediaUrl{N}`: the content's address on api.twilio.com. */
export const mediaUrl = (uri: string) => (uri.startsWith("/") ? `https://api.twilio.com${uri.replace(/\.json$/, "")}` : uri)

export const numberFromSdk = (n: {
  sid: string
  phoneNumber: string
  smsUrl: string | null
  smsMethod: string | null
  capabilities: { sms?: boolean; mms?: boolean } | null
}): TwilioNumber => ({
  sid: n.sid,
  phoneNumber: n.phoneNumber,
  smsUrl: n.smsUrl,
  smsMethod: n.smsMethod,
  capabilities: { sms: n.capabilities?.sms === true, mms: n.capabilities?.mms === true }
})

export const serviceFromSdk = (s: {
  sid: string
  friendlyName: string
  inboundRequestUrl: string | null
  inboundMethod: string | null
  useInboundWebhookOnNumber: boolean | null
}): TwilioService => ({
  sid: s.sid,
  friendlyName: s.friendlyName,
  inboundRequestUrl: s.inboundRequestUrl || null,
  inboundMethod: s.inboundMethod || null,
  useInboundWebhookOnNumber: s.useInboundWebhookOnNumber === true
})
