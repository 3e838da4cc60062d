import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { AppConfig } from "./Config.js"
import { writeTransaction } from "./Database.js"
import type { Address, PhoneNumber } from "./domain/Address.js"
import type { Conversation, ConversationId, Metadata } from "./domain/Conversation.js"
import { ConversationNotFound, MessageNotFound, MmsDisabled, RecipientNotInConversation } from "./domain/Errors.js"
import type { Media, Message } from "./domain/Message.js"
import { nowIso } from "./domain/Time.js"
import { type InboundFilter, MessageStore, type StatusUpdate } from "./MessageStore.js"
import { Threading } from "./Threading.js"
import { Twilio } from "./Twilio.js"

export interface SendInput {
  readonly to: PhoneNumber
  readonly message: string
  readonly from?: PhoneNumber | undefined
  readonly conversationId?: ConversationId | undefined
  readonly mediaUrls?: ReadonlyArray<string> | undefined
}

export interface InboundMessage {
  readonly sid: string
  readonly from: Address
  readonly to: Address
  readonly body: string
  readonly media: ReadonlyArray<Media>
  readonly numSegments?: number | undefined
  readonly messagingServiceSid?: string | undefined
  readonly extra: Record<string, string>
}

export interface ThreadQuery {
  readonly conversationId: ConversationId
  readonly includeContext: boolean
  readonly limit: number
  readonly before?: string | undefined
}

export const STATUS_PATH = "/webhooks/twilio/status"
export const SMS_PATH = "/webhooks/twilio/sms"

/**
 * The use cases, shared by the MCP tools and the webhooks: neither edge knows SQL or the Twilio SDK.
 * Every write is one transaction.
 */
export class Messaging extends Effect.Service<Messaging>()("twilio-mcp/Messaging", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio
    const messages = yield* MessageStore
    const threading = yield* Threading

    const requireConversation = (id: string) =>
      Effect.flatMap(
        threading.findById(id),
        Option.match({
          onNone: () => Effect.fail(new ConversationNotFound({ conversationId: id })),
          onSome: Effect.succeed
        })
      )

    /**
     * Validate and resolve the thread (no writes), send, then store. Twilio failing leaves nothing behind;
     * storage failing after Twilio accepted still reports the sent message, so the agent never resends.
     */
    const send = (input: SendInput) =>
      Effect.gen(function*() {
        const media = input.mediaUrls ?? []
        if (media.length > 0 && !config.enableMms) return yield* new MmsDisabled()
        const useService = input.from === undefined && config.messagingServiceSid !== undefined
        const sender: string = input.from ?? config.phoneNumber ?? config.messagingServiceSid!
        const target = input.conversationId === undefined
          ? yield* threading.plan([sender, input.to])
          : yield* Effect.flatMap(requireConversation(input.conversationId), (c) =>
            c.participants.includes(input.to)
              ? Effect.succeed(Option.some(c))
              : Effect.fail(new RecipientNotInConversation({ conversationId: c.id, to: input.to, participants: c.participants })))

        const sent = yield* twilio.send({
          to: input.to,
          body: input.message,
          from: useService ? undefined : sender,
          messagingServiceSid: useService ? config.messagingServiceSid : undefined,
          mediaUrls: media,
          statusCallback: `${config.webhookBaseUrl}${STATUS_PATH}`
        })
        const from = sent.from ?? sender
        const now = yield* nowIso

        const stored = yield* writeTransaction(
          Effect.gen(function*() {
            const conversation: Conversation = Option.isSome(target)
              ? target.value
              : (yield* threading.open([from, input.to], null, now)).conversation
            yield* messages.insert({
              sid: sent.sid,
              direction: "outbound",
              from: from as Address,
              to: input.to as string as Address,
              body: input.message,
              status: sent.status,
              conversationId: conversation.id,
              errorCode: sent.errorCode,
              numSegments: sent.numSegments,
              media: media.map((url) => ({ url })),
              messagingServiceSid: useService ? config.messagingServiceSid : undefined,
              twilioCreatedAt: sent.dateCreated
            }, now)
            yield* threading.touch(conversation.id, now)
            return conversation.id
          })
        ).pipe(
          Effect.tapError((e) => Effect.logError("message sent but not stored", e.message).pipe(Effect.annotateLogs("sid", sent.sid))),
          Effect.either
        )

        return {
          messageSid: sent.sid,
          status: sent.status,
          to: input.to as string,
          from,
          conversationId: Either.getOrNull(stored),
          timestamp: now,
          ...(sent.numSegments === undefined ? {} : { numSegments: sent.numSegments }),
          ...(Either.isLeft(stored)
            ? { warning: `Sent, but not stored locally (${stored.left.detail}). Do not resend; check get_message_status.` }
            : {})
        }
      })

    /** An inbound message, stored once however often Twilio delivers it. */
    const recordInbound = (inbound: InboundMessage) =>
      Effect.gen(function*() {
        const now = yield* nowIso
        return yield* writeTransaction(
          Effect.gen(function*() {
            const conversation = yield* threading.forMessage([inbound.from, inbound.to], now)
            const inserted = yield* messages.insert({
              sid: inbound.sid,
              direction: "inbound",
              from: inbound.from,
              to: inbound.to,
              body: inbound.body,
              status: "received",
              conversationId: conversation?.id ?? null,
              numSegments: inbound.numSegments,
              media: inbound.media,
              messagingServiceSid: inbound.messagingServiceSid,
              extra: inbound.extra
            }, now)
            if (conversation !== null) yield* threading.touch(conversation.id, now)
            return { duplicate: !inserted, conversationId: conversation?.id ?? null }
          })
        )
      })

    const applyStatus = (update: StatusUpdate) => writeTransaction(messages.applyStatus(update))

    /**
     * Live status from Twilio, written back (forward only). If Twilio cannot answer, the stored status
     * with a note that it is the last one known.
     */
    const status = (sid: string) =>
      Effect.gen(function*() {
        const local = yield* messages.findBySid(sid)
        const remote = yield* Effect.either(twilio.fetchMessage(sid))
        if (Either.isLeft(remote)) {
          const error = remote.left
          if (Option.isNone(local)) {
            return yield* (error._tag === "TwilioApiError" && error.code === 20404 ? new MessageNotFound({ messageSid: sid }) : error)
          }
          return {
            ...statusView(local.value),
            note: `Last known status from local storage: Twilio could not be asked (${error.message}).`
          }
        }
        const live = remote.right
        if (Option.isNone(local)) {
          return {
            messageSid: live.sid,
            status: live.status as string,
            timestamp: live.dateUpdated ?? (yield* nowIso),
            to: live.to,
            from: live.from ?? "",
            ...(live.errorCode === undefined ? {} : { errorCode: live.errorCode }),
            ...(live.errorMessage === undefined ? {} : { errorMessage: live.errorMessage })
          }
        }
        yield* applyStatus({ sid, status: live.status, errorCode: live.errorCode, at: yield* nowIso })
        const updated = yield* messages.findBySid(sid)
        return statusView(Option.getOrElse(updated, () => local.value), live.dateUpdated)
      })

    const createConversation = (participants: ReadonlyArray<PhoneNumber>, metadata: Metadata | undefined) =>
      Effect.gen(function*() {
        const now = yield* nowIso
        const { conversation, created } = yield* writeTransaction(threading.open(participants, metadata ?? null, now))
        return {
          conversationId: conversation.id as string,
          participants: conversation.participants,
          createdAt: conversation.createdAt,
          metadata: conversation.metadata ?? {},
          alreadyExisted: !created
        }
      })

    const thread = (query: ThreadQuery) =>
      Effect.gen(function*() {
        const conversation = yield* requireConversation(query.conversationId)
        const before = query.before === undefined ? undefined : yield* Effect.flatMap(
          messages.findRow(query.before),
          (row) =>
            Option.isSome(row) && row.value.conversation_id === conversation.id
              ? Effect.succeed(row.value)
              : Effect.fail(new MessageNotFound({ messageSid: query.before! }))
        )
        const page = yield* messages.threadPage(conversation.id, { limit: query.limit, before })
        const context = query.includeContext && config.enableAiContext
          ? { context: yield* summarize(conversation) }
          : {}
        return {
          conversationId: conversation.id as string,
          participants: conversation.participants,
          messages: page.messages,
          hasMore: page.hasMore,
          ...(page.hasMore && page.messages[0] ? { before: page.messages[0].messageSid } : {}),
          ...context
        }
      })

    /** A summary from counts and the last message: who wrote last and whether a reply is awaited. No LLM. */
    const summarize = (conversation: Conversation) =>
      Effect.map(messages.threadStats(conversation.id), (stats) => {
        const total = stats.inbound + stats.outbound
        const counts = `${total} message${total === 1 ? "" : "s"} (${stats.outbound} sent, ${stats.inbound} received)`
        const head = `Conversation between ${conversation.participants.join(" and ")}: ${counts}.`
        const tail = Option.match(stats.last, {
          onNone: () => " No messages yet.",
          onSome: (last) =>
            last.direction === "inbound"
              ? ` Last message from ${last.from} at ${last.timestamp}: awaiting your reply.`
              : ` Last message sent to ${last.to} at ${last.timestamp} (${last.status}): waiting for their reply.`
        })
        return {
          summary: head + tail,
          lastActivity: Option.match(stats.last, { onNone: () => conversation.createdAt, onSome: (m) => m.timestamp }),
          messageCount: total,
          inboundCount: stats.inbound,
          outboundCount: stats.outbound,
          awaitingReply: Option.match(stats.last, { onNone: () => false, onSome: (m) => m.direction === "inbound" })
        }
      })

    const inbound = (filter: InboundFilter) => messages.listInbound(filter)

    return { send, recordInbound, applyStatus, status, createConversation, thread, inbound } as const
  })
}) {}

const statusView = (m: Message, timestamp?: string) => ({
  messageSid: m.messageSid,
  status: m.status,
  timestamp: timestamp ?? m.timestamp,
  to: m.to,
  from: m.from,
  ...(m.errorCode === undefined ? {} : { errorCode: m.errorCode }),
  ...(m.errorMessage === undefined ? {} : { errorMessage: m.errorMessage })
})

