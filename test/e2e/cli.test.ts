/** The command line outside the MCP session: the `webhooks` subcommand and a bad environment. */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, expect, it } from "vitest"
import { onPostgres } from "../support/Dialect.js"
import { freePort } from "../support/ports.js"
import { type Env, exitWithin, serverEnv, spawnServer, stopAll, tempDir } from "../support/ServerProcess.js"

let dir: string
let env: Env

beforeAll(async () => {
  dir = tempDir()
  // No Twilio call is made here: the API URL points at a closed port.
  env = serverEnv({ twilioUrl: `http://127.0.0.1:${await freePort()}`, webhookPort: await freePort(), databasePath: path.join(dir, "twilio.db") })
})
afterEach(() => stopAll())
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

it("`webhooks` serves GET /healthz and exits with code 0 on SIGTERM", async () => {
  const server = spawnServer(env, ["webhooks"], dir)
  await server.stderr.waitForLine(/webhooks listening/)

  const response = await fetch(`http://127.0.0.1:${env.WEBHOOK_PORT}/healthz`)
  expect(response.status).toBe(200)
  // The postgres project runs this file with DATABASE_URL set (test/support/ServerProcess.ts).
  expect(await response.json()).toMatchObject({ status: "ok", database: "ok", storage: { engine: onPostgres ? "postgresql" : "sqlite" } })

  server.child.kill("SIGTERM")
  expect(await exitWithin(server)).toEqual({ code: 0, signal: null })
})

it("a bad environment exits with code 1 and says what is wrong on stderr", async () => {
  const server = spawnServer({ ...env, TWILIO_ACCOUNT_SID: "bad" }, [], dir)

  expect(await exitWithin(server)).toEqual({ code: 1, signal: null })
  expect(server.stderr.text()).toContain("Environment validation failed")
  expect(server.stderr.text()).toMatch(/TWILIO_ACCOUNT_SID must start with AC/)
  expect(server.stdout.text()).toBe("")
})
