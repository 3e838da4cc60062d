import * as Effect from "effect/Effect"

/** One line of `check` / check_setup: what was checked, whether it holds, and in plain words what to do. */
export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

export const pass = (name: string, detail: string): Check => ({ name, ok: true, detail })
export const fail = (name: string, detail: string): Check => ({ name, ok: false, detail })

/** A check whose error is its failure detail. */
export const attempt = <E extends { readonly message: string }, R>(name: string, effect: Effect.Effect<Check | ReadonlyArray<Check>, E, R>) =>
  Effect.catchAll(effect, (e) => Effect.succeed(fail(name, e.message)))
