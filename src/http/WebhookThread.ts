import type { AddressInfo } from "node:net"
import { parentPort, Worker, workerData } from "node:worker_threads"
import type { InboundMessage } from "../Messaging.js"
import type { StatusUpdate } from "../MessageStore.js"
import type { Done } from "../Sqlite.js"
import { createServer, drain, listen } from "./Listener.js"
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
  | { readonly _tag: "Log"; readonly level: LogLevel; readonly message: string; readonly cause: string | undefined }
  | { readonly _tag: "Drained" }

type ToThread =
  | { readonly _tag: "Outcomes"; readonly outcomes: ReadonlyArray<Outcome> }
  | { readonly _tag: "Health"; readonly id: number; readonly status: number; readonly body: unknown }
  | { readonly _tag: "Drain" }

export interface WebhookThread {
  readonly address: AddressInfo
  /** Stops accepting, finishes the requests in flight (bounded by DRAIN_TIMEOUT_MS), ends the thread. */
  readonly drain: () => Promise<void>
}

/**
 * Starts the thread at `entry` (the bundle's `webhook-thread.js`) and serves its requests' writes, health
 * checks and logs from `backend`. Rejects with the listen error (its `code`), like `Listener.listen`.
 * `onDied` is called if the thread ends other than by `drain`: the server is gone then.
 */
export const startWebhookThread = (options: {
  readonly entry: URL | string
  readonly thread: ThreadSettings
  readonly backend: WebhookBackend
  readonly onDied: (error: Error) => void
}) =>
  new Promise<WebhookThread>((resolve, reject) => {
    const { backend } = options
    const worker = new Worker(options.entry, { workerData: options.thread })
    const post = (message: ToThread) => worker.postMessage(message)
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
    let draining: (() => void) | undefined
    worker.on("message", (message: FromThread) => {
      switch (message._tag) {
        case "Write": {
          const { id, kind, payload } = message.write
          return kind === "inbound" ? backend.inbound(payload, told(id)) : backend.status(payload, told(id))
        }
        case "Health":
          return backend.health((status, body) => post({ _tag: "Health", id: message.id, status, body }))
        case "Log":
          return backend.log(message.level, message.message, message.cause)
        case "Listening":
          started = true
          return resolve({
            address: message.address,
            drain: () =>
              new Promise<void>((drained) => {
                draining = drained
                post({ _tag: "Drain" })
              })
          })
        case "ListenFailed":
          void worker.terminate()
          return reject(Object.assign(new Error(message.message), { code: message.code }))
        case "Drained":
          void worker.terminate()
          return draining?.()
      }
    })
    worker.on("error", (error) => (started ? options.onDied(error) : reject(error)))
    worker.on("exit", (code) => {
      if (draining !== undefined) return draining()
      const error = new Error(`the webhook thread exited (code ${code})`)
      if (started) options.onDied(error)
      else reject(error)
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
    // A defect may be anything (not every value can be posted): it crosses as text.
    log: (level, message, cause) =>
      post({ _tag: "Log", level, message, cause: cause === undefined ? undefined : cause instanceof Error ? cause.stack ?? cause.message : String(cause) }),
    debug
  }

  const server = createServer(makeWebhookRoutes({ settings, backend, validate: validateRequest }))
  port.on("message", (message: ToThread) => {
    switch (message._tag) {
      case "Outcomes":
        for (const [id, error, value] of message.outcomes) {
          const done = waiting.get(id)
          waiting.delete(id)
          done?.(error === undefined ? undefined : new Error(error), value)
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
