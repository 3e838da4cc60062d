import type { Readable } from "node:stream"

/** Everything a stream has written so far, and a way to await what it writes next. */
export interface Output {
  readonly text: () => string
  readonly lines: () => ReadonlyArray<string>
  /** Resolves with the first line matching `pattern`, already written or to come; rejects at the deadline. */
  readonly waitForLine: (pattern: RegExp, timeoutMs?: number) => Promise<string>
}

export const capture = (stream: Readable, name: string): Output => {
  let text = ""
  let ended = false
  const waiters = new Set<() => void>()
  const notify = () => waiters.forEach((w) => w())
  stream.setEncoding("utf8")
  stream.on("data", (chunk: string) => {
    text += chunk
    notify()
  })
  stream.on("close", () => {
    ended = true
    notify()
  })
  const lines = () => text.split("\n").filter((line) => line !== "")

  const waitForLine = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = lines().find((line) => pattern.test(line))
        if (found === undefined && !ended) return
        clearTimeout(timer)
        waiters.delete(check)
        if (found !== undefined) resolve(found)
        else reject(new Error(`${name} closed without a line matching ${pattern}; it wrote:\n${text}`))
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`no ${name} line matching ${pattern} within ${timeoutMs} ms; it wrote:\n${text}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })

  return { text: () => text, lines, waitForLine }
}

/**
 * Calls `get` until `done` holds for its result, at most until the deadline; returns that result. Only for a
 * condition no event announces (a port refusing connections): otherwise await the line or notification.
 */
export const poll = async <A>(get: () => Promise<A>, done: (a: A) => boolean, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await get()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
