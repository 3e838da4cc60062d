// What is compared: this server, the npm peer, the bare MCP server, the framework floor and the raw webhook
// ceiling; how each is started, with dummy credentials of the right shape, and everything on 127.0.0.1.
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { McpProcess } from "./mcp-client.mjs"
import { ensurePeer } from "./peer.mjs"
import { freePort, HOST, start, tempDir, waitUntil } from "./procs.mjs"

export const REPO = fileURLToPath(new URL("../../..", import.meta.url))
const BENCH = join(REPO, "scripts", "bench")
export const OURS_ENTRY = join(REPO, "dist", "index.js")

export const ACCOUNT_SID = `AC${"0123456789abcdef".repeat(2)}`
export const AUTH_TOKEN = "benchbenchbenchbenchbenchbench32"
export const OUR_NUMBER = "+15005550006"
/** The public URL the webhooks are signed for; requests arrive on 127.0.0.1, as behind a tunnel. */
export const BASE_URL = "https://bench.twilio-mcp.test"
export const SMS_PATH = "/webhooks/twilio/sms"
export const STATUS_PATH = "/webhooks/twilio/status"

const credentials = {
  TWILIO_ACCOUNT_SID: ACCOUNT_SID,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  TWILIO_PHONE_NUMBER: OUR_NUMBER,
  WEBHOOK_BASE_URL: BASE_URL
}

/**
 * This server's environment. Its Twilio REST calls (the start-up catch-up) go to a closed port on
 * 127.0.0.1, so they fail at once instead of leaving the machine.
 */
export const oursEnv = async (databasePath, port) => ({
  ...credentials,
  DATABASE_PATH: databasePath,
  WEBHOOK_HOST: HOST,
  WEBHOOK_PORT: String(port),
  TWILIO_API_BASE_URL: `http://${HOST}:${await freePort()}`
})

const peerEnv = (databasePath, port) => ({ ...credentials, DATABASE_PATH: databasePath, WEBHOOK_PORT: String(port) })

/**
 * The MCP servers of the cold-start, memory and footprint figures, each with its database in `dir`.
 * This server also takes extra CLI flags and another database; its webhook server gets a free port.
 */
export const mcpServers = {
  ours: {
    label: "twilio-mcp (this)",
    spawn: async (dir, { args = [], databasePath = join(dir, "ours.db") } = {}) =>
      McpProcess.spawn(process.execPath, [OURS_ENTRY, ...args], {
        cwd: dir,
        // A fixed port, as Twilio needs (0 is refused); a free one, so runs never collide.
        env: await oursEnv(databasePath, await freePort()),
        log: join(dir, "ours.log")
      })
  },
  peer: {
    label: "twilio-mcp@1.0.0 (npm peer)",
    spawn: async (dir) =>
      McpProcess.spawn(process.execPath, [(await ensurePeer(log)).mcp], {
        cwd: dir,
        // Its MCP server listens on nothing, but its configuration insists on a port.
        env: peerEnv(join(dir, "peer.db"), await freePort()),
        log: join(dir, "peer.log")
      })
  },
  bare: {
    label: "bare MCP SDK server",
    spawn: async (dir) => McpProcess.spawn(process.execPath, [join(BENCH, "bare-server.mjs")], { cwd: REPO, log: join(dir, "bare.log") })
  }
}

/** A webhook server on a free port, ready once `GET health` answers 200; `stores: false` has no database. */
const startHttp = async ({ name, args, env, healthPath, dir, stores = true }) => {
  const port = await freePort()
  const child = start(process.execPath, args, {
    cwd: dir,
    env: await env(port),
    log: join(dir, `${name}.log`),
    stdin: "ignore",
    stdout: "ignore"
  })
  await waitUntil(`${name} webhook server on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`${name} webhook server exited with ${child.exitCode}; see ${dir}/${name}.log`)
    return fetch(`http://${HOST}:${port}${healthPath}`).then((r) => r.ok, () => false)
  })
  return { name, port, child, databasePath: stores ? join(dir, `${name}.db`) : undefined }
}

/** The webhook servers of the ingest and status figures, each on its own database in `dir`. */
export const webhookServers = {
  ours: {
    label: "twilio-mcp webhooks (this)",
    start: (dir) =>
      startHttp({
        name: "ours",
        dir,
        args: [OURS_ENTRY, "webhooks"],
        env: (port) => oursEnv(join(dir, "ours.db"), port),
        healthPath: "/healthz"
      })
  },
  floor: {
    label: "framework floor (@effect/platform HttpLayerRouter on NodeHttpServer, form read, TwiML answered)",
    start: (dir) =>
      startHttp({
        name: "floor",
        dir,
        args: [join(BENCH, "floor-server.mjs")],
        env: async (port) => ({ PORT: String(port) }),
        healthPath: "/healthz",
        stores: false
      })
  },
  peer: {
    label: "twilio-mcp@1.0.0 webhooks (npm peer)",
    start: async (dir) =>
      startHttp({
        name: "peer",
        dir,
        args: ["--import", join(BENCH, "loopback-preload.mjs"), (await ensurePeer(log)).webhooks],
        env: async (port) => peerEnv(join(dir, "peer.db"), port),
        healthPath: "/health"
      })
  },
  ceiling: {
    label: "raw ceiling (node:http + validateRequest + WAL insert)",
    start: (dir) =>
      startHttp({
        name: "ceiling",
        dir,
        args: [join(BENCH, "ceiling-server.mjs")],
        env: async (port) => ({
          PORT: String(port),
          DATABASE_PATH: join(dir, "ceiling.db"),
          TWILIO_AUTH_TOKEN: AUTH_TOKEN,
          WEBHOOK_BASE_URL: BASE_URL
        }),
        healthPath: "/healthz"
      })
  }
}

export const log = (line) => process.stderr.write(`bench: ${line}\n`)

export { tempDir }

/**
 * How long an idle figure lets a started server settle before it measures: start-up's aftermath — one
 * garbage collection of ~180 ms on this machine, about 10 s after start — is not the cost of waiting.
 */
export const SETTLE_MS = 15_000
