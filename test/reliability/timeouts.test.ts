/**
 * The webhook server's request timeouts (README: headers within 10 s, the whole request within 15 s, the
 * time Twilio waits) fire within about a second of their bound, on the built `webhooks` command. Node checks
 * them on an interval that defaults to 30 s, which let a slow client hold a connection for up to 45 s.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, afterEach, expect, it } from "vitest"
import { freePort } from "../support/ports.js"
import { serverEnv, spawnServer, stopAll, tempDir } from "../support/ServerProcess.js"

const dir = tempDir()
afterEach(() => stopAll())
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Writes `data` on a new connection and resolves with what the server answered and when it hung up. */
const hangUp = (port: number, data: string) =>
  new Promise<{ readonly afterMs: number; readonly answer: string }>((resolve) => {
    const startedAt = Date.now()
    let answer = ""
    const socket = net.connect(port, "127.0.0.1", () => socket.write(data))
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => (answer += chunk))
    socket.on("error", () => {})
    socket.on("close", () => resolve({ afterMs: Date.now() - startedAt, answer }))
  })

it("headers not complete within 10 s, or a body not complete within 15 s: 408 and the connection closed, each within ~1 s of its bound", async () => {
  const webhookPort = await freePort()
  const env = serverEnv({ twilioUrl: `http://127.0.0.1:${await freePort()}`, webhookPort, databasePath: path.join(dir, "t.db") })
  const server = spawnServer({ ...env, LOG_LEVEL: "info" }, ["webhooks"], dir)
  await server.stderr.waitForLine(/webhooks listening/)

  const [headers, body] = await Promise.all([
    hangUp(webhookPort, "POST /webhooks/twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\n"),
    hangUp(
      webhookPort,
      "POST /webhooks/twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nFrom=%2B1"
    )
  ])
  expect(headers.answer).toMatch(/^HTTP\/1\.1 408/)
  expect(headers.afterMs).toBeGreaterThanOrEqual(10_000)
  expect(headers.afterMs).toBeLessThan(12_000)
  expect(body.answer).toMatch(/^HTTP\/1\.1 408/)
  expect(body.afterMs).toBeGreaterThanOrEqual(15_000)
  expect(body.afterMs).toBeLessThan(17_000)
}, 30_000)
