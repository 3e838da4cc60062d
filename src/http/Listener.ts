import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** How long in-flight webhooks get to finish on shutdown before their connections are cut. */
export const DRAIN_TIMEOUT_MS = 10_000

/** A server that listens, and how to stop it (`drain`). */
export interface Serving {
  readonly address: AddressInfo
  readonly drain: () => Promise<void>
}

/** The webhook HTTP server around a request listener; Twilio gives up on a webhook after 15 s. */
export const createServer = (listener: http.RequestListener) =>
  http.createServer({ requestTimeout: 15_000, headersTimeout: 10_000 }, listener)

/** Listens on host:port; rejects with Node's error (its `code`, e.g. EADDRINUSE, says why). */
export const listen = (server: http.Server, port: number, host: string) =>
  new Promise<AddressInfo>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening)
      reject(error)
    }
    const onListening = () => {
      server.off("error", onError)
      resolve(server.address() as AddressInfo)
    }
    server.once("error", onError).once("listening", onListening).listen(port, host)
  })

/**
 * Shutdown: stop accepting, let in-flight requests finish (including ones on connections accepted but not
 * yet read), and cut what remains after the drain timeout.
 */
export const drain = (server: http.Server) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS)
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    server.closeIdleConnections()
  })
