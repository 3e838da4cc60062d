import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AppConfig } from "../config/AppConfig.js"
import type { Address, PhoneNumber } from "../domain/Address.js"
import type { Conversation, ConversationId, Metadata } from "../domain/Conversation.js"
import { ConversationNotFound, MessageNotFound, MmsDisabled, RecipientNotInConversation, SenderNotOwned } from "../domain/Errors.js"
import type { Message } from "../domain/Message.js"
import { nowIso } from "../domain/Time.js"
import { STATUS_PATH } from "../domain/WebhookPaths.js"
import { Database } from "../storage/Database.js"
import { type InboundFilter, MessageStore, type StatusUpdate } from "../storage/MessageStore.js"
import { OptOuts } from "../storage/OptOuts.js"
import { ReadMarkers } from "../storage/ReadMarkers.js"
import { SendKeys } from "../storage/SendKeys.js"
import { Twilio } from "../twilio/Twilio.js"
import { twilioErrorText } from "../twilio/TwilioErrors.js"
import { Inbox } from "./Inbox.js"
import { InboundFetcher } from "./InboundFetcher.js"
import { type InboundMessage, Ingest } from "./Ingest.js"
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

export interface ThreadQuery {
  readonly conversationId: ConversationId
  readonly includeContext: boolean
  readonly limit: number
  readonly before?: string | undefined
}

/**
 * The use cases, shared by the MCP tools and the webhooks: neither edge knows SQL or the Twilio SDK.
 * Every write is one transaction, or one write of a group commit (Ingest), all or nothing.
 */
export class Messaging extends Effect.Service<Messaging>()("twilio-mcp/Messaging", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const twilio = yield* Twilio
    const messages = yield* MessageStore
    const threading = yield* Threading
    const guard = yield* SendGuard
    const optOuts = yield* OptOuts
    const sendKeys = yield* SendKeys
    const inbox = yield* Inbox
    const ingest = yield* Ingest
    const database = yield* Database
    const readMarkers = yield* ReadMarkers
    const fetcher = yield* InboundFetcher
    const defaultSender: string = config.phoneNumber ?? config.messagingServiceSid!

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

    const requireConversation = (id: string) =>
      Effect.flatMap(
        threading.findById(id),
        Option.match({
          onNone: () => Effect.fail(new ConversationNotFound({ conversationId: id })),
          onSome: Effect.succeed
        })
      )

    /**
     * Everything decided before a send, with no writes: the sender, the guard's checks (opt-out, allowed
     * recipients, hourly cap), the thread (existing, or one that may be created), and the segment count.
     */
    const prepare = Effect.fn("Messaging.prepare")(function*(input: SendInput) {
      const media = input.mediaUrls ?? []
      if (media.length > 0 && !config.enableMms) return yield* new MmsDisabled()
      const useService = input.from === undefined && config.messagingServiceSid !== undefined
      const sender: string = input.from ?? defaultSender
      // Messaging Service traffic is threaded (and opted out) by the service, whichever number it used.
      const us = useService ? config.messagingServiceSid! : sender
      if (input.from !== undefined) yield* checkSender(input.from)
      yield* guard.check(input.to, us)
      const target = input.conversationId === undefined
        ? yield* threading.plan([us, input.to])
        : yield* Effect.flatMap(requireConversation(input.conversationId), (c) =>
          c.participants.includes(input.to)
            ? Effect.succeed(Option.some(c))
            : Effect.fail(new RecipientNotInConversation({ conversationId: c.id, to: input.to, participants: c.participants })))
      return { media, useService, sender, us, target, segments: previewSegments(input.message), now: yield* nowIso }
    })

    /** A dry run: what `send` would do, without sending or writing. */
    const preview = Effect.fn("Messaging.preview")(function*(input: SendInput) {
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
    const send = Effect.fn("Messaging.send")(function*(input: SendInput) {
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
        // The URL as configured, credentials included: Twilio calls and signs it with them. Without a public
        // URL it would point nowhere: statuses are fetched instead.
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

    /** An inbound message, stored once however often Twilio delivers it: the webhooks' use case. */
    const recordInbound = (inbound: InboundMessage) => ingest.inbound(inbound)

    /** A status event, applied forward only: the status callbacks' use case. */
    const applyStatus = (update: StatusUpdate) => ingest.status(update)

    /**
     * Live status from Twilio, written back (forward only). If Twilio cannot answer, the stored status
     * with a note that it is the last one known.
     */
    const status = Effect.fn("Messaging.status")(function*(sid: string) {
      const local = yield* messages.findBySid(sid)
      const remote = yield* Effect.either(twilio.fetchMessage(sid))
      if (Either.isLeft(remote)) {
        const error = remote.left
        const unknownToTwilio = error._tag === "TwilioApiError" && error.code === 20404
        if (Option.isNone(local)) return yield* (unknownToTwilio ? new MessageNotFound({ messageSid: sid }) : error)
        return {
          ...statusView(local.value),
          note: unknownToTwilio
            ? config.sandbox
              ? "The last status stored: each sandbox process has an in-memory Twilio of its own, and this one did not send the message."
              : "The last status stored: Twilio has no record of this message in this account (20404)."
            : `Last known status from local storage: Twilio could not be asked (${error.message}).`
        }
      }
      const live = remote.right
      if (Option.isNone(local)) {
        return {
          messageSid: live.sid,
          status: live.status as string,
          timestamp: live.dateUpdated ?? (yield* nowIso),
          to: live.to,
          ...(live.from === null || live.from === "" ? {} : { from: live.from }),
          ...(live.errorCode === undefined ? {} : { errorCode: live.errorCode, errorMessage: live.errorMessage ?? twilioErrorText(live.errorCode) })
        }
      }
      yield* applyStatus({ sid, status: live.status, errorCode: live.errorCode, errorMessage: live.errorMessage, at: yield* nowIso })
      const updated = yield* messages.findBySid(sid)
      return statusView(Option.getOrElse(updated, () => local.value), live.dateUpdated)
    })

    const createConversation = Effect.fn("Messaging.createConversation")(function*(
      participants: ReadonlyArray<PhoneNumber>,
      metadata: Metadata | undefined
    ) {
      const now = yield* nowIso
      const { conversation, created } = yield* database.writeTransaction(
        Effect.flatMap(threading.open(participants, metadata ?? null, now), (opened) =>
          opened.created || metadata === undefined
            ? Effect.succeed(opened)
            : Effect.map(threading.mergeMetadata(opened.conversation.id, metadata), (merged) => ({
              conversation: Option.getOrElse(merged, () => opened.conversation),
              created: false
            })))
      )
      return {
        conversationId: conversation.id as string,
        participants: conversation.participants,
        createdAt: conversation.createdAt,
        metadata: conversation.metadata ?? {},
        alreadyExisted: !created
      }
    })

    /**
     * A page of a thread, chronological: the newest `limit` messages unless `before` asks for older ones. The
     * inbound messages shown are marked read (wait_for_reply then waits for newer ones).
     */
    const thread = Effect.fn("Messaging.thread")(function*(query: ThreadQuery) {
      yield* fetcher.beforeRead
      const conversation = yield* requireConversation(query.conversationId)
      const before = query.before === undefined ? undefined : yield* Effect.flatMap(
        messages.findRow(query.before),
        (row) =>
          Option.isSome(row) && row.value.conversation_id === conversation.id
            ? Effect.succeed(row.value)
            : Effect.fail(new MessageNotFound({ messageSid: query.before! }))
      )
      // Independent reads side by side (each a round trip on PostgreSQL; SQLite's one connection takes them in
      // turn). The counts are needed for a summary, or for the note when older messages remain.
      const withStats = query.includeContext && config.enableAiContext
      const [page, optedOut, counted] = yield* Effect.all([
        messages.threadPage(conversation.id, { limit: query.limit, before }),
        optOuts.optedOutAmong(conversation.participants),
        withStats ? Effect.asSome(messages.threadStats(conversation.id)) : Effect.succeedNone
      ], { concurrency: "unbounded" })
      const stats = Option.isSome(counted) ? counted.value : page.hasMore ? yield* messages.threadStats(conversation.id) : undefined
      yield* readMarkers.advance(page.marks, yield* nowIso)
      const notes = [
        ...(page.hasMore
          ? [`${page.messages.length} of ${stats!.inbound + stats!.outbound} messages shown${before === undefined ? " (the newest)" : ""}; pass before: "${page.messages[0]!.messageSid}" for older ones.`]
          : []),
        ...(query.includeContext && !config.enableAiContext ? ["includeContext was ignored: summaries are turned off on this server (ENABLE_AI_CONTEXT=false)."] : [])
      ]
      return {
        conversationId: conversation.id as string,
        participants: conversation.participants,
        messages: page.messages,
        hasMore: page.hasMore,
        ...(page.hasMore && page.messages[0] ? { before: page.messages[0].messageSid } : {}),
        ...(optedOut.length > 0 ? { optedOut } : {}),
        ...(notes.length > 0 ? { note: notes.join(" ") } : {}),
        ...(query.includeContext && config.enableAiContext ? { context: summarize(conversation, stats!, optedOut) } : {})
      }
    })

    /**
     * A summary from counts and the last message: who wrote last and whether a reply is awaited. No LLM. Someone
     * who texted STOP is awaiting nothing: the summary says they opted out.
     */
    const summarize = (
      conversation: Conversation,
      stats: { readonly inbound: number; readonly outbound: number; readonly last: Option.Option<Message> },
      optedOut: ReadonlyArray<string>
    ) => {
      const total = stats.inbound + stats.outbound
      const counts = `${total} message${total === 1 ? "" : "s"} (${stats.outbound} sent, ${stats.inbound} received)`
      const head = `Conversation between ${conversation.participants.join(" and ")}: ${counts}.`
      const awaitingReply = Option.match(stats.last, { onNone: () => false, onSome: (m) => m.direction === "inbound" && !optedOut.includes(m.from) })
      const tail = Option.match(stats.last, {
        onNone: () => " No messages yet.",
        onSome: (last) =>
          last.direction === "inbound"
            ? ` Last message from ${last.from} at ${last.timestamp}: ${awaitingReply ? "awaiting your reply." : "no reply expected."}`
            : ` Last message sent to ${last.to} at ${last.timestamp} (${last.status}): waiting for their reply.`
      })
      const stopped = optedOut.length === 0 ? "" : ` ${optedOut.join(", ")} opted out (texted STOP): do not message them.`
      return {
        summary: head + tail + stopped,
        lastActivity: Option.match(stats.last, { onNone: () => conversation.createdAt, onSome: (m) => m.timestamp }),
        messageCount: total,
        inboundCount: stats.inbound,
        outboundCount: stats.outbound,
        awaitingReply
      }
    }

    const inbound = (filter: InboundFilter) => Effect.zipRight(fetcher.beforeRead, messages.listInbound(filter))

    /**
     * Waits for inbound messages in a thread (or from a sender). By default, the ones not yet returned (by an
     * earlier wait or get_conversation_thread, in any process) that came after the thread's last sent message,
     * so a reply that beat the call is not missed and none is returned twice; an explicit `since` (a time, or a
     * result's cursor) wins. What it returns is marked read.
     */
    const awaitReply = Effect.fn("Messaging.awaitReply")(function*(
      input: {
        readonly conversationId?: string | undefined
        readonly from?: string | undefined
        readonly since?: string | undefined
        readonly timeoutSeconds: number
      },
      onProgress: (waitedSeconds: number) => Effect.Effect<void>
    ) {
      const startedAt = yield* nowIso
      const { filter, found } = yield* fetcher.whileWaiting(inbox.waitForReply(
        Effect.gen(function*() {
          const conversation = input.conversationId !== undefined
            ? yield* requireConversation(input.conversationId)
            : Option.getOrUndefined(yield* threading.find([defaultSender, input.from!]))
          const floor = input.since === undefined && conversation !== undefined ? yield* messages.lastOutboundAt(conversation.id) : undefined
          return { ...(conversation === undefined ? { from: input.from } : { conversationId: conversation.id }), since: input.since, floor }
        }),
        Duration.seconds(input.timeoutSeconds),
        onProgress
      ))
      yield* readMarkers.advance(found.marks, yield* nowIso)
      const newest = found.messages[found.messages.length - 1]
      return {
        status: newest === undefined ? "timeout" as const : "reply" as const,
        conversationId: filter?.conversationId ?? newest?.conversationId ?? null,
        messages: found.messages,
        since: found.cursor ?? input.since ?? filter?.floor ?? startedAt,
        ...(newest === undefined && fetcher.enabled ? { note: fetcher.howRepliesArrive } : {})
      }
    })

    /** Threads by last activity, with unread counts; one who texted STOP last is not awaiting a reply. */
    const conversations = Effect.fn("Messaging.conversations")(function*(options: { readonly limit: number; readonly before?: string | undefined }) {
      yield* fetcher.beforeRead
      const list = yield* threading.recent(options)
      const optedOut = new Set(yield* optOuts.optedOutAmong(Array.from(new Set(list.flatMap((c) => c.participants)))))
      return {
        conversations: list.map((c) => ({
          conversationId: c.id as string,
          participants: c.participants,
          lastActivity: c.lastActivityAt,
          ...(c.last === null ? {} : { lastMessage: c.last }),
          unread: c.unread,
          awaitingReply: c.last?.direction === "inbound" && !optedOut.has(c.last.from)
        })),
        ...(list.length === options.limit ? { before: list[list.length - 1]!.id as string } : {})
      }
    })

    const search = (query: { readonly query: string; readonly from?: string | undefined; readonly conversationId?: string | undefined; readonly limit: number }) =>
      Effect.map(Effect.zipRight(fetcher.beforeRead, messages.search({ text: query.query, from: query.from, conversationId: query.conversationId, limit: query.limit })), (found) => ({
        messages: found
      }))

    return {
      send,
      preview,
      recordInbound,
      applyStatus,
      status,
      createConversation,
      thread,
      inbound,
      awaitReply,
      conversations,
      search
    } as const
  }),
  dependencies: [
    MessageStore.Default,
    Threading.Default,
    SendGuard.Default,
    OptOuts.Default,
    SendKeys.Default,
    Inbox.Default,
    Ingest.Default,
    Database.Default,
    ReadMarkers.Default,
    InboundFetcher.Default
  ]
}) {}

const statusView = (m: Message, timestamp?: string) => ({
  messageSid: m.messageSid,
  status: m.status,
  timestamp: timestamp ?? m.timestamp,
  to: m.to,
  ...(m.from === "" ? {} : { from: m.from }),
  ...(m.errorCode === undefined ? {} : { errorCode: m.errorCode }),
  ...(m.errorMessage === undefined ? {} : { errorMessage: m.errorMessage })
})
