/**
 * Two processes writing one SQLite file at once (README: processes sharing the database wait for each other's
 * writes, up to the 10 s busy timeout, and lose nothing): two `webhooks` processes on their own ports, one
 * database file, signed inbound webhooks to both at the same time. Every webhook is answered 200, every one is
 * stored, and neither process ever reports "database is locked".
 */
import * as fs from "node:fs"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { freePort } from "../support/ports.js"
import { exitWithin, spawnServer, stopAll, tempDir } from "../support/ServerProcess.js"
import { sid } from "../webhooks/harness.js"
import { freshWebhookEnv, load, storedSids } from "./support.js"

const dir = tempDir()
afterEach(() => stopAll())
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Per process: enough webhooks, in enough parallel clients, that the two writers meet many times. */
const PER_PROCESS = 100
const CLIENTS = 8

describe("two processes on one SQLite file", () => {
  it("concurrent webhooks to both: all answered 200, all stored, no \"database is locked\"", async () => {
    const first = await freshWebhookEnv(dir, "shared")
    // Same file and public URL (so the same signatures), another port.
    const second = { ...first, WEBHOOK_PORT: String(await freePort()) }
    const servers = [spawnServer(first, ["webhooks"], dir), spawnServer(second, ["webhooks"], dir)]
    await Promise.all(servers.map((server) => server.stderr.waitForLine(/webhooks listening/)))

    const outcomes = (await Promise.all([
      load(first, { total: PER_PROCESS, workers: CLIENTS, first: 10_000 }),
      load(second, { total: PER_PROCESS, workers: CLIENTS, first: 20_000 })
    ])).flat()

    expect(outcomes.filter((o) => !("status" in o) || o.status !== 200)).toEqual([])
    for (const server of servers) server.child.kill("SIGTERM")
    for (const server of servers) expect(await exitWithin(server)).toEqual({ code: 0, signal: null })
    for (const server of servers) expect(server.stderr.text()).not.toMatch(/database is locked|SQLITE_BUSY/i)

    const stored = storedSids(first.DATABASE_PATH!)
    const missing = outcomes.map((o) => sid(o.n)).filter((s) => !stored.has(s))
    expect(missing).toEqual([])
    expect(stored.size).toBe(2 * PER_PROCESS)
  })
})
