/**
 * The webhook thread's own contract (the webhook suites also run through it: the vitest project "webhooks
 * on a thread", where the fuzz test also sends __proto__ and friends across): it is really another thread,
 * logs cross back, a taken port fails the start, and a thread that dies is reported instead of leaving a
 * server that answers nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { WebhookServer } from "../../src/http/WebhookServer.js"
import type { WebhookBackend } from "../../src/http/WebhookRouter.js"
import { startWebhookThread } from "../../src/http/WebhookThread.js"
import { TestLayer } from "../../src/TestLayer.js"
import { expectTwiml, inboundParams, postInbound, sid, stored } from "./harness.js"

const THREAD = fileURLToPath(new URL("../../dist/webhook-thread.js", import.meta.url))

/**
 * The server on the thread, with every log line it writes collected. A line logged on the thread arrives
 * on its own, maybe after the HTTP answer: `logged` waits for it.
 */
const onThread = () => {
  const lines: Array<string> = []
  const waiting = new Set<() => void>()
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
    for (const wake of waiting) wake()
  })
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
  const layer = WebhookServer.layer({ portTaken: "fail", thread: THREAD }).pipe(
    Layer.provideMerge(TestLayer()),
    Layer.provide(Logger.replace(Logger.defaultLogger, logger))
  )
  return { logged, provide: <A, E, R>(self: Effect.Effect<A, E, R>) => self.pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug)) }
}

const noBackend: WebhookBackend = {
  inbound: () => {},
  status: () => {},
  health: () => {},
  log: () => {},
  debug: false
}

describe("the webhook thread", () => {
  it.live("says it serves from its own thread; a webhook crosses intact; logs cross back", () => {
    const server = onThread()
    return Effect.gen(function*() {
      yield* server.logged(/^INFO webhooks listening on http:\/\/127\.0\.0\.1:\d+ \(own thread\)$/)
      expectTwiml(yield* postInbound(inboundParams(sid(7001), { Body: "across" })))
      expect(yield* stored(sid(7001))).toMatchObject({ body: "across", numSegments: 1 })
      const [row] = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ extra: string }>`SELECT extra FROM messages WHERE sid = ${sid(7001)}`)
      expect(JSON.parse(row!.extra)).toMatchObject({ FromCity: "SAN FRANCISCO", ApiVersion: "2010-04-01" })
      // A debug line per stored webhook, and a forged one's warning, are written by this thread's logger.
      yield* server.logged(new RegExp(`^DEBUG inbound message ${sid(7001)} stored$`))
      const forged = yield* postInbound(inboundParams(sid(7002)), { signature: "forged" })
      expect(forged.status).toBe(403)
      yield* server.logged(/^WARN webhook rejected: X-Twilio-Signature does not match for https:\/\/\S+\/webhooks\/twilio\/sms\./)
    }).pipe(server.provide)
  })

  it.live("a taken port fails the start with the port's error", () =>
    Effect.gen(function*() {
      const first = yield* WebhookServer
      const port = Option.getOrThrow(first.address).port
      const second = yield* Layer.build(
        WebhookServer.layer({ portTaken: "fail", thread: THREAD }).pipe(Layer.provide(TestLayer({ webhookPort: port })))
      ).pipe(Effect.scoped, Effect.flip)
      expect(second.message).toBe(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`)
    }).pipe(onThread().provide))

  /** A stand-in thread from `source`, started with `onDied` resolving `died`. */
  const standIn = (source: string, died?: Deferred.Deferred<Error>) =>
    Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "twilio-mcp-thread-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    ).pipe(Effect.flatMap((dir) => {
      const entry = path.join(dir, "stand-in.mjs")
      fs.writeFileSync(entry, `import { parentPort } from "node:worker_threads"\n${source}`)
      return Effect.tryPromise(() =>
        startWebhookThread({
          entry,
          thread: { settings: { authToken: "t", webhookBaseUrl: "https://x", accountSid: "AC" }, host: "127.0.0.1", port: 0, debug: false },
          backend: noBackend,
          onDied: (error) => died && Deferred.unsafeDone(died, Effect.succeed(error))
        })
      )
    }))

  it.scoped("a thread that ends after starting is reported, and draining it afterwards does not wait", () =>
    Effect.gen(function*() {
      const died = yield* Deferred.make<Error>()
      // Node delivers a thread's messages before its exit: "listening", then gone.
      const serving = yield* standIn(
        `parentPort.postMessage({ _tag: "Listening", address: { address: "127.0.0.1", family: "IPv4", port: 1 } })\nprocess.exit(3)`,
        died
      )
      expect(serving.address.port).toBe(1)
      expect((yield* Deferred.await(died)).message).toBe("the webhook thread exited (code 3)")
      yield* Effect.promise(serving.drain)
    }))

  it.scoped("a thread that cannot start fails the start, saying so", () =>
    Effect.gen(function*() {
      const failure = yield* Effect.flip(standIn(`throw new Error("broken bundle")`))
      expect(String(failure.error)).toBe("Error: the webhook thread did not start: broken bundle")
    }))
})
