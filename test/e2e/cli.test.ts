/** The command line outside the MCP session: the `webhooks` subcommand, a bad environment, unknown commands and options, help. */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { commands } from "../../src/Cli.js"
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

describe("the command line (@effect/cli)", () => {
  /** Runs `args` to the end: its exit code and all it wrote ("close" comes after both pipes are read). */
  const runToEnd = async (args: ReadonlyArray<string>, extra: Env = {}) => {
    const server = spawnServer({ ...env, ...extra }, args, dir)
    const closed = new Promise<number | null>((resolve) => server.child.once("close", resolve))
    await exitWithin(server)
    return { code: await closed, stdout: server.stdout.text(), stderr: server.stderr.text() }
  }

  /** One line on stderr, as main.ts writes every failure: no stack trace, no usage dump. */
  const oneLine = (stderr: string) => {
    expect(stderr.split("\n").filter((line) => line !== "")).toHaveLength(1)
    expect(stderr).toMatch(/^twilio-mcp: .+\(twilio-mcp --help lists the commands and options\)\n$/)
    expect(stderr).not.toMatch(/\bat .+:\d+:\d+/)
  }

  it("an unknown command exits with code 1, says which commands there are, and starts nothing", async () => {
    const databasePath = path.join(dir, "unknown-command.db")
    const run = await runToEnd(["webhook"], { DATABASE_PATH: databasePath })
    expect(run.code).toBe(1)
    oneLine(run.stderr)
    for (const name of Object.keys(commands)) expect(run.stderr).toContain(`'${name}'`)
    expect(run.stdout).toBe("")
    expect(fs.existsSync(databasePath)).toBe(false)
  })

  it.each([[["--sandbx"]], [["webhooks", "--sandbx"]], [["check", "--sandbox", "extra"]]])(
    "an unknown option or argument (%j) exits with code 1 and one line on stderr",
    async (args) => {
      const run = await runToEnd(args)
      expect(run.code).toBe(1)
      oneLine(run.stderr)
      expect(run.stdout).toBe("")
    }
  )

  it("names the unknown option of a command", async () => {
    const run = await runToEnd(["webhooks", "--port"])
    expect(run.stderr).toContain("'--port'")
  })

  it("--help lists every command, --sandbox and each command's own options on stdout, and exits with code 0", async () => {
    const run = await runToEnd(["--help"])
    expect(run.code).toBe(0)
    for (const [name, { description }] of Object.entries(commands)) {
      expect(run.stdout).toMatch(new RegExp(`^\\s*- ${name} \\[--sandbox\\](?: \\[--[a-z-]+\\])*\\s+${description.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"))
    }
    expect(run.stdout).toContain("--sandbox")
    expect(run.stdout).toMatch(/- configure-webhooks \[--sandbox\] \[--dry-run\]/)
    // Not a terminal: no colour codes.
    expect(run.stdout).not.toContain("\u001b[")
    expect(run.stderr).toBe("")
  })

  it.each([[["check", "--sandbox"]], [["--sandbox", "check"]], [["check"], { TWILIO_MCP_SANDBOX: "true" }]] as const)(
    "%j checks the sandbox's setup: no Twilio account, exit code 0",
    async (args, extra: Env = {}) => {
      const run = await runToEnd(args, { WEBHOOK_PORT: String(await freePort()), ...extra })
      expect(run.stdout).toMatch(/^ok {3}twilio credentials: sandbox: in-memory Twilio, no account used$/m)
      expect(run.stdout).not.toMatch(/^FAIL/m)
      expect(run.code).toBe(0)
    }
  )
})
