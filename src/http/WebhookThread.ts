import type { AddressInfo } from "node:net"
import { parentPort, Worker, workerData } from "node:worker_threads"
import type { InboundMessage } from "../Messaging.js"
import type { StatusUpdate } from "../MessageStore.js"
import type { Done } from "../Sqlite.js"
import { createServer, drain, DRAIN_TIMEOUT_MS, listen, type Serving } from "./Listener.js"
import { type LogLevel, makeWebhookRoutes, type WebhookBackend, type WebhookSettings } from "./WebhookRouter.js"

/**
 * The webhook HTTP server on a thread of its own (the `webhooks` command). HTTP parsing, the signature check
 * and Schema decoding (about half of a webhook's CPU) run there, the database writes on the main thread,
 * so the two halves of a busy server run on two cores. The routes are the same code as on the main thread
 * (WebhookRouter.ts); only their backend is a message port. A webhook's write crosses as soon as it is
 * decoded, so the main thread commits while this one reads the next requests (posting them per turn made
 * the threads take turns: ~15 % fewer webhooks/s); the outcomes of one batch commit cross together.
 */

export interface ThreadSettings {
  readonly settings: WebhookSettings
  readonly host: string
  readonly port: number
  readonly debug: boolean
}

type Write =
  | { readonly id: number; readonly kind: "inbound"; readonly payload: InboundMessage }
  | { readonly id: number; readonly kind: "status"; readonly payload: Omit<StatusUpdate, "at"> }

/** An error crosses as its message: the routes only log it and answer 503. */
type Outcome = readonly [id: number, error: string | undefined, value: unknown]

type FromThread =
  | { readonly _tag: "Listening"; readonly address: AddressInfo }
  | { readonly _tag: "ListenFailed"; readonly code: string | undefined; readonly message: string }
  | { readonly _tag: "Write"; readonly write: Write }
  | { readonly _tag: "Health"; readonly id: number }
  | { readonly _tag: "Log"; readonly level: LogLevel; readonly message: string }
  | { readonly _tag: "Drained" }

type ToThread =
  | { readonly _tag: "Outcomes"; readonly outcomes: ReadonlyArray<Outcome> }
  | { readonly _tag: "Health"; readonly id: number; readonly status: number; readonly body: unknown }
  | { readonly _tag: "Drain" }

/**
 * Starts the thread at `entry` (the bundle's `webhook-thread.js`) and serves its requests' writes, health
 * checks and logs from `backend`. Rejects with the listen error (its `code`), like `Listener.listen`, or
 * with why the thread could not start (no `code`). `onDied` is called if the thread ends other than by
 * `drain`: the server is gone then. An abort of `signal` while starting ends the thread.
 */
export const startWebhookThread = (options: {
  readonly entry: URL | string
  readonly thread: ThreadSettings
  readonly backend: WebhookBackend
  readonly onDied: (error: Error) => void
  readonly signal?: AbortSignal | undefined
}) =>
  new Promise<Serving>((resolve, reject) => {
    const { backend } = options
    // Its stdout would be this process's, the MCP channel in the other mode: anything written goes to stderr.
    const worker = new Worker(options.entry, { workerData: options.thread, stdout: true })
    worker.stdout.pipe(process.stderr)
    const post = (message: ToThread) => worker.postMessage(message)
    const failedToStart = (why: string) => reject(new Error(`the webhook thread did not start: ${why}`))
    const onAbort = () => void worker.terminate()
    options.signal?.addEventListener("abort", onAbort, { once: true })
    // Outcomes are told synchronously, one per write, while a batch commits: answered together after it.
    let outcomes: Array<Outcome> = []
    const answer = () => {
      post({ _tag: "Outcomes", outcomes })
      outcomes = []
    }
    const told = (id: number): Done<unknown> => (error, value) => {
      const outcome: Outcome = [id, error === undefined ? undefined : error instanceof Error ? error.message : String(error), value]
      if (outcomes.push(outcome) === 1) process.nextTick(answer)
    }
    let started = false
    let exited = false
    let drained: (() => void) | undefined
    let draining: Promise<void> | undefined
    /** Asks the thread to drain (once); resolves when it has, when it is gone, or past the drain bound. */
    const drain = () =>
      draining ??= new Promise<void>((resolve) => {
        if (exited) return resolve()
        // The thread bounds its own drain; this bounds a thread that stopped answering.
        const timer = setTimeout(() => void worker.terminate(), DRAIN_TIMEOUT_MS + 2_000)
        drained = () => {
          clearTimeout(timer)
          resolve()
        }
        post({ _tag: "Drain" })
      })
    worker.on("message", (message: FromThread) => {
      switch (message._tag) {
        case "Write": {
          const { id, kind, payload } = message.write
          return kind === "inbound" ? backend.inbound(payload, told(id)) : backend.status(payload, told(id))
        }
        case "Health":
          return backend.health((status, body) => post({ _tag: "Health", id: message.id, status, body }))
        case "Log":
          return backend.log(message.level, message.message)
        case "Listening":
          started = true
          options.signal?.removeEventListener("abort", onAbort)
          return resolve({ address: message.address, drain })
        case "ListenFailed":
          void worker.terminate()
          return reject(Object.assign(new Error(message.message), { code: message.code }))
        case "Drained":
          return void worker.terminate()
      }
    })
    worker.on("error", (error) => (started ? options.onDied(error) : failedToStart(error.message)))
    worker.on("exit", (code) => {
      exited = true
      if (drained !== undefined) return drained()
      if (started) options.onDied(new Error(`the webhook thread exited (code ${code})`))
      else failedToStart(`it exited (code ${code})`)
    })
  })

/** The thread's side: the routes over a backend that forwards to the main thread. Runs in the worker only. */
export const runWebhookThread = async () => {
  const port = parentPort!
  const { debug, host, port: listenPort, settings } = workerData as ThreadSettings
  const post = (message: FromThread) => port.postMessage(message)
  // The signature check is the only part of the Twilio SDK a webhook needs: load just that module.
  const { validateRequest } = await import("twilio/lib/webhooks/webhooks.js")

  let nextId = 0
  const waiting = new Map<number, Done<any>>()
  const healthChecks = new Map<number, (status: number, body: unknown) => void>()
  const send = (write: Write) => post({ _tag: "Write", write })
  const backend: WebhookBackend = {
    inbound: (payload, done) => {
      waiting.set(nextId, done)
      send({ id: nextId++, kind: "inbound", payload })
    },
    status: (payload, done) => {
      waiting.set(nextId, done)
      send({ id: nextId++, kind: "status", payload })
    },
    health: (answer) => {
      healthChecks.set(nextId, answer)
      post({ _tag: "Health", id: nextId++ })
    },
    log: (level, message) => post({ _tag: "Log", level, message }),
    debug
  }

  const server = createServer(makeWebhookRoutes({ settings, backend, validate: validateRequest }))
  port.on("message", (message: ToThread) => {
    switch (message._tag) {
      case "Outcomes":
        for (const [id, error, value] of message.outcomes) {
          const done = waiting.get(id)
          waiting.delete(id)
          try {
            done?.(error === undefined ? undefined : new Error(error), value)
          } catch {
            // The routes' callbacks answer their own failures (a 500); one must not cost the others theirs.
          }
        }
        return
      case "Health": {
        const answer = healthChecks.get(message.id)
        healthChecks.delete(message.id)
        return answer?.(message.status, message.body)
      }
      case "Drain":
        return void drain(server).then(() => post({ _tag: "Drained" }))
    }
  })
  try {
    post({ _tag: "Listening", address: await listen(server, listenPort, host) })
  } catch (error) {
    const failure = error as NodeJS.ErrnoException
    post({ _tag: "ListenFailed", code: failure.code, message: failure.message })
  }
}
