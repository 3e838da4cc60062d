import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"

/** A logger that keeps every line as "LEVEL message", and a way to wait for one. */
export const collectLogs = () => {
  const lines: Array<string> = []
  const waiting = new Set<() => void>()
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
    for (const wake of waiting) wake()
  })
  /** The first line matching `pattern`, logged already or to come. */
  const logged = (pattern: RegExp) =>
    Effect.async<string>((resume) => {
      const look = () => {
        const line = lines.find((l) => pattern.test(l))
        if (line === undefined) return false
        waiting.delete(check)
        resume(Effect.succeed(line))
        return true
      }
      const check = () => void look()
      if (!look()) waiting.add(check)
      return Effect.sync(() => waiting.delete(check))
    })
  return { logger, lines: () => [...lines], logged }
}
