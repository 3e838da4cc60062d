import * as Layer from "effect/Layer"
import { AppConfig, type AppConfigShape } from "./Config.js"
import { ConversationStore } from "./ConversationStore.js"
import { makeSqlLayer } from "./Database.js"
import { MessageStore } from "./MessageStore.js"
import { Messaging } from "./Messaging.js"
import { Threading } from "./Threading.js"
import { Twilio } from "./Twilio.js"
import { TwilioMemory } from "./TwilioMemory.js"

/**
 * The whole service graph for one configuration, on a given Twilio layer: tests and sandbox mode use
 * the in-memory one (whose controls come along in the context); everything else is the same code.
 */
export const makeAppLayer = <T>(config: AppConfigShape, twilio: Layer.Layer<T | Twilio, never, AppConfig>) =>
  Messaging.Default.pipe(
    Layer.provideMerge(Threading.Default),
    Layer.provideMerge(Layer.mergeAll(MessageStore.Default, ConversationStore.Default)),
    Layer.provideMerge(Layer.merge(twilio, makeSqlLayer(config.databasePath))),
    Layer.provideMerge(AppConfig.layer(config))
  )

/** What production runs: the live Twilio unless in sandbox mode. */
export const appLayer = (config: AppConfigShape) =>
  makeAppLayer<Twilio>(config, config.sandbox ? TwilioMemory.layer : Twilio.live)

export type AppServices = Layer.Layer.Success<ReturnType<typeof appLayer>>
