import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER } from "./Emulator.js"
import { fileDatabaseUrl, onPostgres } from "./Dialect.js"
import { capture, type Output } from "./Output.js"

/** The built server (test/globalSetup.ts builds it before any test). */
export const SERVER_ENTRY = fileURLToPath(new URL("../../dist/index.js", import.meta.url))

export type Env = Record<string, string>

/** A fresh directory for a database file; it is also the servers' working directory, so no `.env` is read. */
export const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "twilio-mcp-e2e-"))

/**
 * The environment of a server talking to the emulator at `twilioUrl`, with webhooks on 127.0.0.1:`webhookPort`.
 * In the postgres project, on the test file's PostgreSQL database (DATABASE_PATH then unused).
 */
export const serverEnv = (options: { twilioUrl: string; webhookPort: number; databasePath: string }): Env => ({
  TWILIO_ACCOUNT_SID: ACCOUNT_SID,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  TWILIO_PHONE_NUMBER: OUR_NUMBER,
  TWILIO_API_BASE_URL: options.twilioUrl,
  TWILIO_TIMEOUT_MS: "5000",
  WEBHOOK_BASE_URL: `http://127.0.0.1:${options.webhookPort}`,
  // The emulator posts to loopback: webhooks, though `auto` would fetch for such a URL.
  INBOUND: "webhook",
  WEBHOOK_HOST: "127.0.0.1",
  WEBHOOK_PORT: String(options.webhookPort),
  DATABASE_PATH: options.databasePath,
  ...(onPostgres ? { DATABASE_URL: fileDatabaseUrl() } : {}),
  LOG_LEVEL: "debug"
})

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** Stops whatever is still running; every spawn registers here so afterEach/afterAll can clean up. */
const running = new Set<() => Promise<void>>()
export const stopAll = () => Promise.all([...running].map((stop) => stop()))
export const track = (stop: () => Promise<void>) => {
  const once = () => {
    running.delete(once)
    return stop()
  }
  running.add(once)
  return once
}

export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams
  readonly stdout: Output
  readonly stderr: Output
  readonly exited: Promise<Exit>
  /** SIGKILL if still running, then wait for the exit. */
  readonly kill: () => Promise<void>
}

/** `node dist/index.js …args` (or `command …args`) with exactly `env` (plus PATH and HOME), stdio piped. */
export const spawnServer = (
  env: Env,
  args: ReadonlyArray<string> = [],
  cwd = os.tmpdir(),
  command: ReadonlyArray<string> = [process.execPath, SERVER_ENTRY]
): ServerProcess => {
  const child = spawn(command[0]!, [...command.slice(1), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: "pipe"
  })
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
  const kill = track(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    await exited
  })
  return { child, stdout: capture(child.stdout, "stdout"), stderr: capture(child.stderr, "stderr"), exited, kill }
}

/** Resolves with the exit, or rejects if the process is still running after `timeoutMs`. */
export const exitWithin = (server: ServerProcess, timeoutMs = 10_000) =>
  Promise.race([
    server.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; stderr:\n${server.stderr.text()}`)), timeoutMs).unref()
    )
  ])
