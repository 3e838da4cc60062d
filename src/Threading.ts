import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig } from "./Config.js"
import { ConversationStore } from "./ConversationStore.js"
import { normalizeParticipants, participantKey } from "./domain/Address.js"
import type { ConversationId, Metadata } from "./domain/Conversation.js"
import { attempt } from "./Database.js"
import { AutoCreateDisabled } from "./domain/Errors.js"

/**
 * Which conversation a message belongs to. A thread is identified by its sorted participant set, so
 * A→B and B→A, sent or received, by this process or another, meet in one conversation.
 */
export class Threading extends Effect.Service<Threading>()("twilio-mcp/Threading", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const store = yield* ConversationStore

    const find = (participants: ReadonlyArray<string>) => store.findByKey(participantKey(participants))

    const openNow = (participants: ReadonlyArray<string>, metadata: Metadata | null, now: string) => {
      const normalized = normalizeParticipants(participants)
      return store.sync.findOrCreate({ id: crypto.randomUUID() as ConversationId, key: normalized.join("|"), participants: normalized, metadata, now })
    }

    /** Finds or creates the thread for exactly these participants; says whether it already existed. */
    const open = (participants: ReadonlyArray<string>, metadata: Metadata | null, now: string) =>
      attempt("create conversation", () => openNow(participants, metadata, now))

    /**
     * Checks, before anything is sent, that a message between these participants will have a thread:
     * the existing one, or one that may be created. Writes nothing.
     */
    const plan = (participants: ReadonlyArray<string>) =>
      Effect.flatMap(find(participants), (existing) =>
        Option.isNone(existing) && !config.autoCreateConversations
          ? Effect.fail(new AutoCreateDisabled({ participants: normalizeParticipants(participants) }))
          : Effect.succeed(existing))

    /** Synchronous on the connection (the inbound write path): inside a transaction only. */
    const sync = {
      /**
       * The thread for a message being stored: found, or created when auto-creation is on. With it off and
       * no thread, the message is still stored, unthreaded (`null`): a received message is never dropped.
       */
      forMessage: (participants: ReadonlyArray<string>, now: string): ConversationId | null => {
        const existing = store.sync.idByKey(participantKey(participants))
        if (existing !== undefined || !config.autoCreateConversations) return existing ?? null
        return openNow(participants, null, now).conversation.id
      },
      touch: store.sync.touch
    }

    return { sync, find, open, plan, findById: store.findById, touch: store.touch, recent: store.recent, mergeMetadata: store.mergeMetadata } as const
  })
}) {}
