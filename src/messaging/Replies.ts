import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig, defaultSender, whatsappSender } from "../config/AppConfig.js"
import { channelOf } from "../domain/Address.js"
import { nowIso } from "../domain/Time.js"
import { type InboundFilter, MessageReads } from "../storage/MessageReads.js"
import { ReadMarkers } from "../storage/ReadMarkers.js"
import { InboundFetcher } from "./InboundFetcher.js"
import { Inbox } from "./Inbox.js"
import { Threading } from "./Threading.js"

/** What people sent us: the received messages, and waiting for a reply. */
export class Replies extends Effect.Service<Replies>()("twilio-mcp/Replies", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const threading = yield* Threading
    const reads = yield* MessageReads
    const inbox = yield* Inbox
    const readMarkers = yield* ReadMarkers
    const fetcher = yield* InboundFetcher
    const sender = defaultSender(config)
    /** Our side of a thread with `from`: the sender of their channel. */
    const ourSideFor = (from: string) => channelOf(from) === "whatsapp" ? whatsappSender(config) ?? sender : sender

    const inbound = (filter: InboundFilter) => Effect.zipRight(fetcher.beforeRead, reads.listInbound(filter))

    /**
     * Waits for inbound messages in a thread (or from a sender). By default, the ones not yet returned (by an
     * earlier wait or get_conversation_thread, in any process) that came after the thread's last sent message,
     * so a reply that beat the call is not missed and none is returned twice; an explicit `since` (a time, or a
     * result's cursor) wins. What it returns is marked read.
     */
    const awaitReply = Effect.fn("Replies.awaitReply")(function*(
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
            ? yield* threading.require(input.conversationId)
            : Option.getOrUndefined(yield* threading.find([ourSideFor(input.from!), input.from!]))
          const floor = input.since === undefined && conversation !== undefined ? yield* reads.lastOutboundAt(conversation.id) : undefined
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

    return { inbound, awaitReply } as const
  }),
  dependencies: [Threading.Default, MessageReads.Default, Inbox.Default, ReadMarkers.Default, InboundFetcher.Default]
}) {}
