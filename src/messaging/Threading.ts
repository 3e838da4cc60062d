import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig } from "../config/AppConfig.js"
import { normalizeParticipants, participantKey } from "../domain/Address.js"
import type { ConversationId, Metadata } from "../domain/Conversation.js"
import { AutoCreateDisabled, ConversationNotFound } from "../domain/Errors.js"
import { ConversationStore, type NewConversation } from "../storage/ConversationStore.js"

const newConversation = (participants: ReadonlyArray<string>, metadata: Metadata | null, now: string): NewConversation => {
  const normalized = normalizeParticipants(participants)
  return { id: crypto.randomUUID() as ConversationId, key: normalized.join("|"), participants: normalized, metadata, now }
}

/**
 * Which conversation a message belongs to. A thread is identified by its sorted participant set, so
 * A→B and B→A, sent or received, by this process or another, meet in one conversation.
 */
export class Threading extends Effect.Service<Threading>()("twilio-mcp/Threading", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const store = yield* ConversationStore

    const find = (participants: ReadonlyArray<string>) => store.findByKey(participantKey(participants))

    /**
     * Finds or creates the thread for exactly these participants, and says whether it already existed.
     * Inside a write transaction.
     */
    const open = Effect.fn("Threading.open")(function*(participants: ReadonlyArray<string>, metadata: Metadata | null, now: string) {
      const existing = yield* find(participants)
      if (Option.isSome(existing)) return { conversation: existing.value, created: false }
      const wanted = newConversation(participants, metadata, now)
      const [conversation] = yield* store.createMany([wanted])
      return { conversation: conversation!, created: conversation!.id === wanted.id }
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
     * The threads of messages being stored, one per participant set: found, or created when auto-creation is
     * on. With it off and no thread, the message is still stored, unthreaded (`null`): a received message is
     * never dropped. Inside a write transaction; one statement for the lookup, one for the creations.
     */
    const forMessages = Effect.fn("Threading.forMessages")(function*(sets: ReadonlyArray<ReadonlyArray<string>>, now: string) {
      const keys = sets.map(participantKey)
      const found = new Map<string, ConversationId>()
      for (const row of yield* store.idsByKeys(Array.from(new Set(keys)))) found.set(row.participant_key, row.id)
      if (config.autoCreateConversations) {
        const missing = new Map<string, NewConversation>()
        sets.forEach((set, i) => {
          if (!found.has(keys[i]!) && !missing.has(keys[i]!)) missing.set(keys[i]!, newConversation(set, null, now))
        })
        for (const created of yield* store.createMany(Array.from(missing.values()))) {
          found.set(participantKey(created.participants), created.id)
        }
      }
      return keys.map((key) => found.get(key) ?? null)
    })

    /** The thread `id`, or ConversationNotFound: for a conversationId a model passed in. */
    const require = (id: string) =>
      Effect.flatMap(
        store.findById(id),
        Option.match({
          onNone: () => Effect.fail(new ConversationNotFound({ conversationId: id })),
          onSome: Effect.succeed
        })
      )

    return {
      find,
      require,
      open,
      plan,
      forMessages,
      findById: store.findById,
      touch: (touches: ReadonlyArray<{ readonly id: string; readonly at: string }>) => store.touchMany(touches),
      recent: store.recent,
      mergeMetadata: store.mergeMetadata
    } as const
  }),
  dependencies: [ConversationStore.Default]
}) {}

