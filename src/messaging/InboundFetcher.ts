import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { AppConfig } from "../config/AppConfig.js"
import { Database } from "../storage/Database.js"
import { FetchState } from "../storage/FetchState.js"
import { CatchUp } from "./CatchUp.js"

/** How far back the first fetch looks (what catch-up covered at start-up), and how long a sent message's status is followed. */
const LOOKBACK = Duration.hours(24)
const STATUS_WINDOW = Duration.minutes(15)
const STATUSES_PER_FETCH = 20
/** Fast fetching after a send: its status, and a reply that comes quickly. */
const AFTER_SEND = Duration.minutes(3)
/** A wait keeps fetching fast this long past its last heartbeat: a waiter that died stops counting soon. */
const WAIT_HOLD = Duration.seconds(8)
const WAIT_HEARTBEAT = Duration.seconds(3)
/** A read tool fetches first when the last fetch is older. */
const READ_FRESHNESS = Duration.seconds(5)
/** How often a process that does not fetch tries to take fetching over (its holder may have died). */
const TAKEOVER_EVERY = Duration.seconds(2)
/** At most one warning this often while Twilio keeps failing. */
const WARN_EVERY = Duration.minutes(1)

const isoAgo = (now: number, ago: Duration.Duration) => new Date(now - Duration.toMillis(ago)).toISOString()

/**
 * Inbound messages and statuses fetched from Twilio, for a server Twilio cannot reach (no public URL): the
 * same reads as catch-up, through the same idempotent Ingest, so a message that also comes by webhook is stored
 * and wakes a waiter once. One process per database fetches (the `inbound-fetch` lease; another takes over
 * within seconds if it dies), fast while a wait_for_reply is active in any process or after a send, slowly
 * otherwise; the processes tell each other through the database (FetchState).
 */
export class InboundFetcher extends Effect.Service<InboundFetcher>()("twilio-mcp/InboundFetcher", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const catchUp = yield* CatchUp
    const state = yield* FetchState
    const database = yield* Database
    const enabled = config.inbound === "fetch" && !config.sandbox
    const fast = Duration.seconds(config.fetchSeconds)
    const idle = Duration.seconds(config.idleFetchSeconds)
    // One fetch at a time in this process: a read tool and the loop do not both ask Twilio.
    const oneAtATime = yield* Effect.makeSemaphore(1)

    /** One look at Twilio: new inbound messages, then the statuses of recent messages not final yet. */
    const fetchNow = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const received = yield* catchUp.inbound(isoAgo(now, LOOKBACK))
      yield* catchUp.statuses(isoAgo(now, STATUS_WINDOW), STATUSES_PER_FETCH)
      yield* state.fetched(yield* Clock.currentTimeMillis)
      return received
    })

    /** Fetches unless one ended less than `maxAge` ago (in any process). */
    const fetchIfOlder = (maxAge: Duration.Duration) =>
      oneAtATime.withPermits(1)(Effect.gen(function*() {
        const times = yield* state.read
        if ((yield* Clock.currentTimeMillis) - times.fetchedAt < Duration.toMillis(maxAge)) return
        yield* fetchNow
      }))

    /** The fetching loop: every fast interval, a look at the shared state; a fetch when one is due. */
    const tick = Effect.gen(function*() {
      const times = yield* state.read
      const now = yield* Clock.currentTimeMillis
      const due = now < times.fastUntil ? fast : idle
      // A little early: the tick itself is on the fast cadence.
      if (now - times.fetchedAt >= Duration.toMillis(due) - 250) yield* oneAtATime.withPermits(1)(fetchNow)
    })

    /** Twilio failing (429, network): back off with jitter up to the idle interval; one warning a minute, then one on recovery. */
    const loop = Effect.gen(function*() {
      const failing = yield* Ref.make<{ since: number; warned: number } | undefined>(undefined)
      const warn = (message: string) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const current = yield* Ref.get(failing)
          if (current === undefined || now - current.warned >= Duration.toMillis(WARN_EVERY)) {
            yield* Effect.logWarning(`fetching from Twilio failed: ${message}; retrying with backoff (up to every ${config.idleFetchSeconds} s)`)
            yield* Ref.set(failing, { since: current?.since ?? now, warned: now })
          }
        })
      const recovered = Effect.flatMap(Ref.getAndSet(failing, undefined), (was) =>
        was === undefined ? Effect.void : Effect.logInfo("fetching from Twilio works again"))
      const backoff = Schedule.exponential(fast, 2).pipe(Schedule.union(Schedule.spaced(idle)), Schedule.jittered)
      yield* Effect.logInfo(`inbound: this process fetches replies and statuses from Twilio every ${config.fetchSeconds} s while a wait is active, every ${config.idleFetchSeconds} s otherwise`)
      return yield* tick.pipe(
        Effect.tapError((e) => warn(e.message)),
        Effect.retry(backoff),
        Effect.zipRight(recovered),
        Effect.repeat(Schedule.spaced(fast))
      )
    })

    /**
     * Runs the fetching loop while this process holds the lease; otherwise tries again every few seconds (the
     * holder may die). Never ends.
     */
    const run = database.exclusive("inbound-fetch", loop).pipe(
      Effect.catchAll((e) => Effect.as(Effect.logWarning(`fetching from Twilio stopped: ${e.message}`), Option.none())),
      Effect.repeat(Schedule.spaced(TAKEOVER_EVERY)),
      Effect.asVoid
    )

    /** Fast fetching for a while in whichever process fetches: after a send, for its status and a quick reply. */
    const afterSend = enabled
      ? Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.ignore(state.hurry(now + Duration.toMillis(AFTER_SEND))))
      : Effect.void

    /**
     * `effect` (a wait for a reply) with fast fetching while it runs: a heartbeat in the database that every
     * process's fetcher sees, and a fetch at once if the last is older than the fast interval.
     */
    const whileWaiting = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      enabled
        ? Effect.scoped(Effect.gen(function*() {
          const beat = Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.ignore(state.hurry(now + Duration.toMillis(WAIT_HOLD))))
          yield* Effect.forkScoped(Effect.repeat(beat, Schedule.spaced(WAIT_HEARTBEAT)))
          yield* Effect.forkScoped(Effect.ignore(fetchIfOlder(fast)))
          return yield* effect
        }))
        : effect

    /** Before a read: a fetch if the last is a few seconds old. Twilio failing leaves the stored messages to read. */
    const beforeRead = enabled
      ? fetchIfOlder(READ_FRESHNESS).pipe(Effect.catchAll((e) => Effect.logDebug(`fetch before read failed: ${e.message}`)))
      : Effect.void

    /** How replies arrive, in a sentence for tool results and logs. */
    const howRepliesArrive = enabled
      ? `replies are fetched from Twilio every ${config.fetchSeconds} s while you wait (every ${config.idleFetchSeconds} s otherwise)`
      : "replies arrive by Twilio's webhook"

    return { enabled, run, afterSend, whileWaiting, beforeRead, howRepliesArrive } as const
  }),
  dependencies: [CatchUp.Default, FetchState.Default, Database.Default]
}) {}
