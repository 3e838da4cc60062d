import * as Effect from "effect/Effect"
import { AppConfig, whatsappSender } from "../config/AppConfig.js"
import { channelOf } from "../domain/Address.js"
import { whatsAppMediaProblem } from "../domain/WhatsAppMedia.js"
import { ChannelMismatch, WhatsAppMediaRefused, WhatsAppSenderMissing, WindowClosed } from "../domain/WhatsAppErrors.js"
import { WhatsAppStore } from "../storage/WhatsAppStore.js"
import { Templates } from "./Templates.js"

/** WhatsApp takes free-form text for 24 hours after the person's last message. */
const WINDOW_MS = 24 * 60 * 60 * 1000

/** Who sends: a number, or the Messaging Service (`useService`); `us` is our side of the thread. */
export interface Route {
  readonly sender: string
  readonly useService: boolean
  readonly us: string
}

/** What a send says: free-form text, or a content template with its variables. */
export interface Content {
  readonly to: string
  readonly message?: string | undefined
  readonly contentSid?: string | undefined
  readonly contentVariables?: Readonly<Record<string, string>> | undefined
  readonly media: ReadonlyArray<string>
}

/**
 * WhatsApp's rules, applied before Twilio is called: its sender, the 24-hour window (known from the stored
 * inbound messages), templates outside it, and its media limits. SMS sends pass through untouched.
 */
export class WhatsApp extends Effect.Service<WhatsApp>()("twilio-mcp/WhatsApp", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const store = yield* WhatsAppStore
    const templates = yield* Templates

    const ourSide = whatsappSender(config)

    /** The sender of a WhatsApp send (undefined for SMS): `from`, else TWILIO_WHATSAPP_NUMBER, else the service. */
    const route = (to: string, from: string | undefined): Effect.Effect<Route | undefined, ChannelMismatch | WhatsAppSenderMissing> => {
      if (from !== undefined && channelOf(from) !== channelOf(to)) return Effect.fail(new ChannelMismatch({ to, from }))
      if (channelOf(to) === "sms") return Effect.succeed(undefined)
      const sender = from ?? ourSide
      if (sender === undefined) return Effect.fail(new WhatsAppSenderMissing({ to }))
      const useService = from === undefined && config.whatsappNumber === undefined
      return Effect.succeed({ sender, useService, us: sender })
    }

    /** Until when free-form text may go to the thread's person; null when the window is closed or never opened. */
    const windowOpenUntil = (conversationId: string, now: string) =>
      Effect.map(store.lastInboundAt(conversationId), (at) => {
        const until = at === undefined ? undefined : new Date(Date.parse(at) + WINDOW_MS).toISOString()
        return { until, open: until !== undefined && until > now }
      })

    /**
     * The text to send and store (a template rendered with its variables), checked: every template variable
     * given; for WhatsApp, its media limits and, for free-form text, an open window.
     */
    const content = Effect.fn("WhatsApp.content")(function*(input: Content, conversationId: string | undefined, now: string) {
      const template = input.contentSid === undefined
        ? undefined
        : { sid: input.contentSid, variables: input.contentVariables ?? {}, ...(yield* templates.prepare(input.contentSid, input.contentVariables ?? {})) }
      const body = template?.body ?? input.message ?? ""
      const request = template === undefined ? undefined : { sid: template.sid, variables: template.variables }
      if (channelOf(input.to) === "sms") return { body, content: request, windowOpenUntil: undefined }
      const problem = whatsAppMediaProblem(input.media)
      if (problem !== undefined) return yield* new WhatsAppMediaRefused({ detail: problem })
      const window = conversationId === undefined ? { until: undefined, open: false } : yield* windowOpenUntil(conversationId, now)
      if (template === undefined && !window.open) return yield* new WindowClosed({ to: input.to, closedAt: window.until })
      return { body, content: request, windowOpenUntil: window.open ? window.until! : null }
    })

    /** What a WhatsApp thread adds to its view: the window and the participants' profile names. */
    const threadView = (conversationId: string, now: string) =>
      Effect.map(
        Effect.all([windowOpenUntil(conversationId, now), store.profileNames(conversationId)]),
        ([window, names]) => ({ windowOpenUntil: window.open ? window.until! : null, ...(Object.keys(names).length > 0 ? { names } : {}) })
      )

    return { route, content, threadView } as const
  }),
  dependencies: [WhatsAppStore.Default, Templates.Default]
}) {}
