import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"

/** Twilio's bodies are a few KB at most (1600-character body, 10 media URLs, geo fields); MCP requests too. */
export const MAX_BODY_BYTES = 64 * 1024

/** What a 413 carries: the rest of the body is still on the wire, so the connection cannot be reused. */
export const CLOSE_AFTER_413 = { connection: "close" } as const

/** A Content-Length over the limit: refused before a byte of the body is read. */
export const declaredTooLarge = (headers: Readonly<Record<string, string | undefined>>) =>
  Number(headers["content-length"] ?? 0) > MAX_BODY_BYTES

/**
 * The body as text, read up to MAX_BODY_BYTES, whether it comes with a Content-Length or chunked. Past the
 * limit it fails with "too large" and leaves the stream paused, not destroyed: the platform's own limit
 * (`withMaxBodySize`) destroys it, which cuts the connection before any answer; here the 413 is written and
 * Node closes the connection after it (CLOSE_AFTER_413).
 */
export const boundedText = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.async<string, "too large" | "unreadable">((resume) => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const chunks: Array<Buffer> = []
    let size = 0
    const stop = () => {
      incoming.off("data", onData).off("end", onEnd).off("error", onError)
      incoming.pause()
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk)
      stop()
      resume(Effect.fail("too large"))
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    }
    const onError = () => {
      stop()
      resume(Effect.fail("unreadable"))
    }
    incoming.on("data", onData).on("end", onEnd).on("error", onError)
    return Effect.sync(stop)
  })
