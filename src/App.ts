import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AppConfig, type AppConfigShape } from "./config/AppConfig.js"
import { CATCH_UP_HOURS, CatchUp } from "./messaging/CatchUp.js"
import { InboundFetcher } from "./messaging/InboundFetcher.js"
import { Ingest } from "./messaging/Ingest.js"
import { Conversations } from "./messaging/Conversations.js"
import { Delivery } from "./messaging/Delivery.js"
import { Replies } from "./messaging/Replies.js"
import { Sending } from "./messaging/Sending.js"
import { SetupCheck } from "./messaging/SetupCheck.js"
import { Templates } from "./messaging/Templates.js"
import { Database } from "./storage/Database.js"
import { SandboxCarrier } from "./messaging/SandboxCarrier.js"
import { Twilio } from "./twilio/Twilio.js"
import { TwilioMemory } from "./twilio/TwilioMemory.js"

/**
 * The services the edges (tools, webhooks, commands) use, each bringing its own dependencies (storage,
 * threading, the send guard…). What they leave open is the one thing that varies: Twilio, live or in memory,
 * and the configuration.
 */
export const Services = Layer.mergeAll(
  Sending.Default,
  Delivery.Default,
  Conversations.Default,
  Replies.Default,
  Ingest.Default,
  CatchUp.Default,
  InboundFetcher.Default,
  SetupCheck.Default,
  Templates.Default,
  Database.Default
)

export type AppServices = Layer.Layer.Success<typeof Services> | Twilio | AppConfig

/** What the server runs: the live Twilio, or in sandbox mode the in-memory one with a simulated carrier. */
export const appLayer = (config: AppConfigShape): Layer.Layer<AppServices, Layer.Layer.Error<typeof Services>> =>
  (config.sandbox
    ? Layer.merge(Services, SandboxCarrier).pipe(Layer.provideMerge(TwilioMemory.layer))
    : Services.pipe(Layer.provideMerge(Twilio.live))).pipe(Layer.provideMerge(AppConfig.layer(config)))

/**
 * How inbound messages and statuses reach the database from start-up on. With webhooks, catch-up once for what
 * arrived while no webhook server was reachable (replicas starting together on one PostgreSQL run it once: the
 * others find it running and skip it). Without (fetch mode), the fetcher, whose first fetch is that catch-up.
 * A failure is only logged.
 */
export const inboundOnStart = Layer.scopedDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  if (config.sandbox) return
  const fetcher = yield* InboundFetcher
  if (fetcher.enabled) {
    yield* Effect.logInfo(`inbound: no public webhook URL, so ${fetcher.howRepliesArrive}; run configure-webhooks with a public https WEBHOOK_BASE_URL for webhooks`)
    return yield* Effect.forkScoped(fetcher.run)
  }
  const catchUp = yield* CatchUp
  const database = yield* Database
  yield* Effect.forkScoped(database.exclusive("catch-up", catchUp.sync(CATCH_UP_HOURS)).pipe(
    Effect.tap(Option.match({
      onNone: () => Effect.logInfo("catch-up: another process sharing the database is running it"),
      onSome: (r) => Effect.logInfo(`catch-up: ${r.inboundStored} missed inbound stored, ${r.statusesAdvanced} statuses advanced`)
    })),
    Effect.catchAll((e) => Effect.logWarning(`catch-up with Twilio failed: ${e.message}`))
  ))
}))
