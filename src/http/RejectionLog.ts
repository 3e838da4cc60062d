import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/** How long repeats of one rejection reason are counted before they are reported in one line. */
export const REPORT_EVERY = Duration.minutes(1)

/**
 * Warnings about rejected webhooks (and MCP requests), collapsed: the first rejection for a reason is logged at once, repeats
 * within REPORT_EVERY are only counted and reported in one line at its end. An unsigned client hammering
 * the endpoint costs the log two lines a minute, not one per request. What was counted when the server stops
 * is reported then.
 */
export class RejectionLog extends Effect.Service<RejectionLog>()("twilio-mcp/RejectionLog", {
  scoped: Effect.gen(function*() {
    // By reason: what was rejected (a webhook, an MCP request) and how many more times.
    const repeats = new Map<string, { readonly what: string; n: number }>()

    const report = Effect.suspend(() => {
      const counted = Array.from(repeats).filter(([, { n }]) => n > 0)
      repeats.clear()
      return Effect.forEach(counted, ([reason, { n, what }]) =>
        Effect.logWarning(`${n} more ${what}${n === 1 ? "" : "s"} rejected in the last ${Duration.format(REPORT_EVERY)}: ${reason}`), {
        discard: true
      })
    })
    yield* Effect.forkScoped(Effect.forever(Effect.delay(report, REPORT_EVERY)))
    // The last, partial interval's counts too: at shutdown.
    yield* Effect.addFinalizer(() => report)

    /** Logs `line` unless `reason` was logged in this interval already; then it is counted. */
    const warn = (reason: string, line: string, what = "webhook") =>
      Effect.suspend(() => {
        const seen = repeats.get(reason)
        if (seen === undefined) repeats.set(reason, { what, n: 0 })
        else seen.n++
        return seen === undefined ? Effect.logWarning(line) : Effect.void
      })

    return { warn } as const
  })
}) {}
