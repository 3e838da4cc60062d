import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig } from "../config/AppConfig.js"
import type { Channel, PhoneNumber } from "../domain/Address.js"
import type { ConversationId, Metadata } from "../domain/Conversation.js"
import { MessageNotFound } from "../domain/Errors.js"
import { nowIso } from "../domain/Time.js"
import { Database } from "../storage/Database.js"
import { MessageReads } from "../storage/MessageReads.js"
import { MessageSearch } from "../storage/MessageSearch.js"
import { MessageStore } from "../storage/MessageStore.js"
import { OptOuts } from "../storage/OptOuts.js"
import { ReadMarkers } from "../storage/ReadMarkers.js"
import { InboundFetcher } from "./InboundFetcher.js"
import { summarize } from "./ThreadSummary.js"
import { Threading } from "./Threading.js"
import { WhatsApp } from "./WhatsApp.js"

export interface ThreadQuery {
  readonly conversationId: ConversationId
  readonly includeContext: boolean
  readonly limit: number
  readonly before?: string | undefined
}

/** Threads and what is in them: create one, read a page of one, list them, search their messages. */
export class Conversations extends Effect.Service<Conversations>()("twilio-mcp/Conversations", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const threading = yield* Threading
    const messages = yield* MessageStore
    const reads = yield* MessageReads
    const messageSearch = yield* MessageSearch
    const optOuts = yield* OptOuts
    const readMarkers = yield* ReadMarkers
    const database = yield* Database
    const whatsapp = yield* WhatsApp
    const fetcher = yield* InboundFetcher

    const createConversation = Effect.fn("Conversations.create")(function*(
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
        channel: conversation.channel,
        createdAt: conversation.createdAt,
        metadata: conversation.metadata ?? {},
        alreadyExisted: !created
      }
    })

    /**
     * A page of a thread, chronological: the newest `limit` messages unless `before` asks for older ones. The
     * inbound messages shown are marked read (wait_for_reply then waits for newer ones).
     */
    const thread = Effect.fn("Conversations.thread")(function*(query: ThreadQuery) {
      yield* fetcher.beforeRead
      const conversation = yield* threading.require(query.conversationId)
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
      const [page, optedOut, counted, whatsappView] = yield* Effect.all([
        reads.threadPage(conversation.id, { limit: query.limit, before }),
        optOuts.optedOutAmong(conversation.participants),
        withStats ? Effect.asSome(reads.threadStats(conversation.id)) : Effect.succeedNone,
        conversation.channel === "whatsapp" ? Effect.flatMap(nowIso, (now) => whatsapp.threadView(conversation.id, now)) : Effect.succeed({})
      ], { concurrency: "unbounded" })
      const stats = Option.isSome(counted) ? counted.value : page.hasMore ? yield* reads.threadStats(conversation.id) : undefined
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
        channel: conversation.channel,
        ...whatsappView,
        messages: page.messages,
        hasMore: page.hasMore,
        ...(page.hasMore && page.messages[0] ? { before: page.messages[0].messageSid } : {}),
        ...(optedOut.length > 0 ? { optedOut } : {}),
        ...(notes.length > 0 ? { note: notes.join(" ") } : {}),
        ...(query.includeContext && config.enableAiContext ? { context: summarize(conversation, stats!, optedOut) } : {})
      }
    })

    /** Threads by last activity, with unread counts; one who texted STOP last is not awaiting a reply. */
    const conversations = Effect.fn("Conversations.list")(function*(
      options: { readonly limit: number; readonly before?: string | undefined; readonly channel?: Channel | undefined }
    ) {
      yield* fetcher.beforeRead
      const list = yield* threading.recent(options)
      const optedOut = new Set(yield* optOuts.optedOutAmong(Array.from(new Set(list.flatMap((c) => c.participants)))))
      return {
        conversations: list.map((c) => ({
          conversationId: c.id as string,
          participants: c.participants,
          channel: c.channel,
          lastActivity: c.lastActivityAt,
          ...(c.last === null ? {} : { lastMessage: c.last }),
          unread: c.unread,
          awaitingReply: c.last?.direction === "inbound" && !optedOut.has(c.last.from)
        })),
        ...(list.length === options.limit ? { before: list[list.length - 1]!.id as string } : {})
      }
    })

    const search = (query: {
      readonly query: string
      readonly from?: string | undefined
      readonly conversationId?: string | undefined
      readonly channel?: Channel | undefined
      readonly limit: number
    }) =>
      Effect.map(Effect.zipRight(fetcher.beforeRead, messageSearch.search({ ...query, text: query.query })), (found) => ({ messages: found }))

    return { createConversation, thread, conversations, search } as const
  }),
  dependencies: [
    Threading.Default,
    MessageStore.Default,
    MessageReads.Default,
    MessageSearch.Default,
    OptOuts.Default,
    ReadMarkers.Default,
    Database.Default,
    WhatsApp.Default,
    InboundFetcher.Default
  ]
}) {}
