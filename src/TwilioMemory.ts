import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import { AppConfig } from "./Config.js"
import { TwilioApiError } from "./domain/Errors.js"
import type { MessageStatus } from "./domain/Message.js"
import { nowIso } from "./domain/Time.js"
import { type SendRequest, Twilio, type TwilioError, type TwilioMessage } from "./Twilio.js"

export interface SentMessage extends TwilioMessage {
  readonly statusCallback: string
  readonly mediaUrls: ReadonlyArray<string>
}

/** Controls of the in-memory Twilio, for tests and the sandbox. */
export interface TwilioMemoryShape {
  readonly sent: Effect.Effect<ReadonlyArray<SentMessage>>
  /** The next call fails with this error instead of reaching the fake. */
  readonly failNext: (error: TwilioError) => Effect.Effect<void>
  readonly setStatus: (sid: string, status: MessageStatus, errorCode?: number) => Effect.Effect<void>
}

export class TwilioMemory extends Context.Tag("twilio-mcp/TwilioMemory")<TwilioMemory, TwilioMemoryShape>() {
  /** Provides both `Twilio` (the fake) and `TwilioMemory` (its controls). */
  static readonly layer = Layer.effectContext(
    Effect.gen(function*() {
      const config = yield* AppConfig
      const messages = yield* Ref.make(new Map<string, SentMessage>())
      const failures = yield* Ref.make<ReadonlyArray<TwilioError>>([])

      const injected = Effect.flatMap(
        Ref.modify(failures, ([first, ...rest]) => [first, rest] as const),
        (error) => (error === undefined ? Effect.void : Effect.fail(error))
      )

      const sid = (prefix: string) =>
        Effect.map(
          Effect.all(Array.from({ length: 8 }, () => Random.nextIntBetween(0, 0x10000))),
          (parts) => prefix + parts.map((n) => n.toString(16).padStart(4, "0")).join("")
        )

      const notFound = (messageSid: string) =>
        new TwilioApiError({ operation: "fetch message", httpStatus: 404, code: 20404, detail: `Message ${messageSid} was not found` })

      const send = (request: SendRequest) =>
        Effect.gen(function*() {
          yield* injected
          const from = request.from ?? config.phoneNumber ?? null
          if (request.from !== undefined && request.from !== config.phoneNumber) {
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
            sid: yield* sid(media.length > 0 ? "MM" : "SM"),
            status: "queued",
            to: request.to,
            from,
            body: request.body,
            direction: "outbound",
            numSegments: Math.max(1, Math.ceil(request.body.length / 160)),
            errorCode: undefined,
            errorMessage: undefined,
            dateCreated: now,
            dateUpdated: now,
            statusCallback: request.statusCallback,
            mediaUrls: media
          }
          yield* Ref.update(messages, (m) => new Map(m).set(message.sid, message))
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
        failNext: (error) => Ref.update(failures, (f) => [...f, error]),
        setStatus: (messageSid, status, errorCode) =>
          Effect.flatMap(nowIso, (now) =>
            Ref.update(messages, (m) => {
              const found = m.get(messageSid)
              return found === undefined
                ? m
                : new Map(m).set(messageSid, { ...found, status, errorCode, dateUpdated: now })
            }))
      }
      return Context.make(Twilio, { send, fetchMessage }).pipe(Context.add(TwilioMemory, controls))
    })
  )
}
