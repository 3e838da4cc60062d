import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig } from "./Config.js"
import { ConversationStore } from "./ConversationStore.js"
import { normalizeParticipants, participantKey } from "./domain/Address.js"
import type { Conversation, ConversationId, Metadata } from "./domain/Conversation.js"
import { AutoCreateDisabled, type StorageError } from "./domain/Errors.js"

/**
 * Which conversation a message belongs to. A thread is identified by its sorted participant set, so
 * A→B and B→A, sent or received, by this process or another, meet in one conversation.
 */
export class Threading extends Effect.Service<Threading>()("twilio-mcp/Threading", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const store = yield* ConversationStore

    const newId = Effect.sync(() => crypto.randomUUID() as ConversationId)

    const find = (participants: ReadonlyArray<string>) => store.findByKey(participantKey(participants))

    /** Finds or creates the thread for exactly these participants; says whether it already existed. */
    const open = (participants: ReadonlyArray<string>, metadata: Metadata | null, now: string) =>
      Effect.flatMap(newId, (id) => {
        const normalized = normalizeParticipants(participants)
        return store.findOrCreate({ id, key: normalized.join("|"), participants: normalized, metadata, now })
      })

    /**
     * Checks, before anything is sent, that a message between these participants will have a thread:
     * the existing one, or one that may be created. Writes nothing.
     */
    const plan = (participants: ReadonlyArray<string>) =>
      Effect.flatMap(find(participants), (existing) =>
        Option.isNone(existing) && !config.autoCreateConversations
          ? Effect.fail(new AutoCreateDisabled({ participants: normalizeParticipants(participants) }))
          : Effect.succeed(existing))

    /**
     * The thread for a message being stored: found, or created when auto-creation is on. With it off and no
     * thread, the message is still stored, unthreaded (`null`): a received message is never dropped.
     */
    const forMessage = (participants: ReadonlyArray<string>, now: string): Effect.Effect<Conversation | null, StorageError> =>
      config.autoCreateConversations
        ? Effect.map(open(participants, null, now), (r) => r.conversation)
        : Effect.map(find(participants), Option.getOrNull)

    return { find, open, plan, forMessage, findById: store.findById, touch: store.touch, recent: store.recent, mergeMetadata: store.mergeMetadata } as const
  })
}) {}
