import * as Layer from "effect/Layer"
import { CatchUp } from "./CatchUp.js"
import { AppConfig, type AppConfigShape } from "./Config.js"
import { ConversationStore } from "./ConversationStore.js"
import { makeSqlLayer } from "./Database.js"
import { Inbox } from "./Inbox.js"
import { MessageStore } from "./MessageStore.js"
import { Messaging } from "./Messaging.js"
import { OptOuts } from "./OptOuts.js"
import { SandboxCarrier } from "./Sandbox.js"
import { SearchIndex } from "./SearchIndex.js"
import { SendGuard } from "./SendGuard.js"
import { SendKeys } from "./SendKeys.js"
import { SetupCheck } from "./SetupCheck.js"
import { Threading } from "./Threading.js"
import { Twilio } from "./Twilio.js"
import { TwilioMemory } from "./TwilioMemory.js"

/**
 * The whole service graph for one configuration, on a given Twilio layer: tests and sandbox mode use
 * the in-memory one (whose controls come along in the context); everything else is the same code.
 */
export const makeAppLayer = <T>(config: AppConfigShape, twilio: Layer.Layer<T | Twilio, never, AppConfig>) =>
  Layer.merge(CatchUp.Default, SetupCheck.Default).pipe(
    Layer.provideMerge(Messaging.Default),
    Layer.provideMerge(Layer.mergeAll(Threading.Default, SendGuard.Default, Inbox.Default)),
    Layer.provideMerge(Layer.mergeAll(MessageStore.Default, ConversationStore.Default, OptOuts.Default, SendKeys.Default)),
    Layer.provideMerge(SearchIndex.Default),
    Layer.provideMerge(Layer.merge(twilio, makeSqlLayer(config.databasePath))),
    Layer.provideMerge(AppConfig.layer(config))
  )

const live = (config: AppConfigShape) => makeAppLayer<Twilio>(config, Twilio.live)

export type AppServices = Layer.Layer.Success<ReturnType<typeof live>>

/** What the server runs: the live Twilio, or in sandbox mode the in-memory one with a simulated carrier. */
export const appLayer = (config: AppConfigShape): Layer.Layer<AppServices, Layer.Layer.Error<ReturnType<typeof live>>> =>
  config.sandbox ? SandboxCarrier.pipe(Layer.provideMerge(makeAppLayer(config, TwilioMemory.layer))) : live(config)
