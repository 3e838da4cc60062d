/**
 * The package as a user gets it (issue 16): `npm pack`, the tarball installed into an empty folder with a fresh
 * HOME, the installed `twilio-mcp` bin driven by the MCP SDK client. The only network is the npm registry (the
 * tarball's dependencies); better-sqlite3's prebuilt binary comes from a mirror on 127.0.0.1 serving this
 * checkout's own build, through the install script's real download path.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { startMcp } from "../support/McpProcess.js"
import { freePort } from "../support/ports.js"
import { type Env, exitWithin, spawnServer, stopAll, tempDir } from "../support/ServerProcess.js"

const run = promisify(execFile)
const REPO = path.resolve(import.meta.dirname, "../..")
const ADDON = path.join("build", "Release", "better_sqlite3.node")

let root: string
let home: string
let app: string
let bin: string
let installed: string
let addonRequests: Array<string>
let mirror: http.Server

/** The per-user data folder on Linux without XDG_DATA_HOME. */
const dataFolder = () => path.join(home, ".local", "share", "twilio-sms-mcp")
/** A user's environment: this Node.js on the PATH, the temporary HOME, nothing else of ours. */
const userEnv = async (extra: Env = {}): Promise<Env> => ({
  PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`,
  HOME: home,
  WEBHOOK_PORT: String(await freePort()),
  ...extra
})
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const filesUnder = (dir: string): Array<string> =>
  fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => path.join(dir, f))

/** A prebuild mirror (`npm_config_better_sqlite3_binary_host`) serving this checkout's compiled addon. */
const startMirror = async () => {
  const stage = path.join(root, "prebuild")
  fs.mkdirSync(path.join(stage, "build", "Release"), { recursive: true })
  fs.copyFileSync(path.join(REPO, "node_modules", "better-sqlite3", ADDON), path.join(stage, ADDON))
  await run("tar", ["-czf", path.join(root, "prebuild.tar.gz"), "-C", stage, ADDON])
  const tarball = fs.readFileSync(path.join(root, "prebuild.tar.gz"))
  addonRequests = []
  mirror = http.createServer((request, response) => {
    addonRequests.push(request.url ?? "")
    response.writeHead(200, { "content-type": "application/gzip", "content-length": tarball.length }).end(tarball)
  })
  await new Promise<void>((resolve) => mirror.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`
}

let packed: { filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }

beforeAll(async () => {
  root = tempDir()
  home = path.join(root, "home")
  app = path.join(root, "app")
  fs.mkdirSync(home)
  fs.mkdirSync(app)
  // dist/ is fresh (test/globalSetup.ts): no need for `prepare` to build it again.
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", root], { cwd: REPO })
  packed = JSON.parse(stdout)[0]
  const mirrorUrl = await startMirror()
  const { stdout: userconfig } = await run("npm", ["config", "get", "userconfig"])
  await run("npm", ["install", "--no-audit", "--no-fund", path.join(root, packed.filename)], {
    cwd: app,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: home,
      // The user's registry settings, a cache of its own (no trace left in the real one).
      npm_config_userconfig: userconfig.trim(),
      npm_config_cache: path.join(root, "npm-cache"),
      npm_config_update_notifier: "false",
      npm_config_better_sqlite3_binary_host: mirrorUrl
    },
    maxBuffer: 16 * 1024 * 1024
  })
  bin = path.join(app, "node_modules", ".bin", "twilio-mcp")
  installed = path.join(app, "node_modules", "twilio-sms-mcp")
}, 300_000)

afterEach(() => stopAll())
afterAll(async () => {
  await new Promise((resolve) => mirror?.close(resolve))
  if (root !== undefined) fs.rmSync(root, { recursive: true, force: true })
})

describe("the packed package", () => {
  it("ships what runs: the bundle (its entry and the chunks it loads on demand), the README and .env.example", () => {
    const files = packed.files.map((f) => f.path).sort()
    expect(files.filter((f) => !f.startsWith("dist/chunks/"))).toEqual([".env.example", "README.md", "dist/index.js", "package.json"])
    const built = fs.readdirSync(path.join(REPO, "dist", "chunks")).map((f) => `dist/chunks/${f}`).sort()
    expect(files.filter((f) => f.startsWith("dist/chunks/"))).toEqual(built)
  })

  it("installs with better-sqlite3's prebuilt binary, through its install script", () => {
    expect(addonRequests).toEqual([expect.stringMatching(/\/v12\.11\.1\/better-sqlite3-v12\.11\.1-node-v\d+-linux-x64\.tar\.gz$/)])
    expect(fs.existsSync(path.join(app, "node_modules", "better-sqlite3", ADDON))).toBe(true)
  })
})

describe("the installed bin", () => {
  it("--sandbox: every tool works, and the database is in the per-user data folder, not under node_modules", async () => {
    const server = await startMcp(await userEnv(), app, ["--sandbox"], "stdio", [bin])
    const listed = await server.client.listTools()
    expect(listed.tools.map((t) => t.name)).toEqual(expect.arrayContaining(["send_sms", "simulate_inbound", "get_conversation_thread"]))

    const sent = await server.call("send_sms", { to: "+15558000101", message: "Hello from the package" })
    const reply = await server.call("simulate_inbound", { from: "+15558000101", body: "Hello back" })
    expect(reply.conversationId).toBe(sent.conversationId)
    const thread = await server.call("get_conversation_thread", { conversationId: sent.conversationId })
    expect(thread.messages.map((m: { body: string }) => m.body).sort()).toEqual(["Hello back", "Hello from the package"])

    const database = path.join(dataFolder(), "sandbox.db")
    await server.stderr.waitForLine(new RegExp(escape(`ready (sandbox: in-memory Twilio); database ${database}"`)))
    await server.stop()
    expect(fs.existsSync(database)).toBe(true)
    expect(filesUnder(app).filter((f) => /\.db(-wal|-shm)?$/.test(f))).toEqual([])
  })

  it("TWILIO_MCP_SANDBOX=true is the sandbox too, on the same database (data kept across starts)", async () => {
    const server = await startMcp(await userEnv({ TWILIO_MCP_SANDBOX: "true" }), app, [], "stdio", [bin])
    expect((await server.client.listTools()).tools.map((t) => t.name)).toContain("simulate_inbound")
    const { conversations } = await server.call("list_conversations", {})
    expect(conversations.map((c: { participants: Array<string> }) => c.participants)).toContainEqual(
      expect.arrayContaining(["+15558000101"])
    )
    await server.stderr.waitForLine(new RegExp(escape(`database ${path.join(dataFolder(), "sandbox.db")}"`)))
  })

  it("started in / as Claude Desktop does, reads .env from the per-user data folder", async () => {
    const dotEnv = path.join(dataFolder(), ".env")
    fs.writeFileSync(dotEnv, "TWILIO_MCP_SANDBOX=true\n")
    try {
      const server = await startMcp(await userEnv(), "/", [], "stdio", [bin])
      expect((await server.client.listTools()).tools.map((t) => t.name)).toContain("simulate_inbound")
    } finally {
      fs.rmSync(dotEnv)
    }
  })

  it("check names the database file and a start command that works here (npx)", async () => {
    const env = await userEnv({
      TWILIO_ACCOUNT_SID: `AC${"a".repeat(32)}`,
      TWILIO_AUTH_TOKEN: "a".repeat(32),
      TWILIO_PHONE_NUMBER: "+15005550006",
      WEBHOOK_BASE_URL: "https://example.test",
      // Nothing listens there: the Twilio checks fail fast, offline.
      TWILIO_API_BASE_URL: `http://127.0.0.1:${await freePort()}`
    })
    const server = spawnServer(env, ["check"], app, [bin])
    expect(await exitWithin(server, 20_000)).toEqual({ code: 1, signal: null })
    const lines = server.stdout.lines()
    expect(lines).toContain(`ok   database: ${path.join(dataFolder(), "twilio.db")} is writable`)
    expect(lines.find((l) => l.includes("webhook port:"))).toContain("`npx -y twilio-sms-mcp webhooks`")
  })
})

describe("a better-sqlite3 that cannot load: exit 1 with what happened and what to do, never a bad DATABASE_PATH", () => {
  const expectPlainExit = async (env: Env, reason: RegExp) => {
    const server = spawnServer(await userEnv(env), ["--sandbox"], app, [bin])
    expect(await exitWithin(server, 20_000)).toEqual({ code: 1, signal: null })
    const stderr = server.stderr.text()
    expect(stderr).toMatch(/^twilio-mcp: The SQLite driver \(better-sqlite3, a native addon\) could not be loaded: /m)
    expect(stderr).toMatch(reason)
    expect(stderr).toContain("npm rebuild better-sqlite3")
    expect(stderr).toContain("clear the npx cache")
    expect(stderr).not.toContain("DATABASE_PATH")
    expect(server.stdout.text()).toBe("")
  }

  it("built for another Node.js version (NODE_MODULE_VERSION)", async () => {
    // What Node.js throws for an addon of another ABI, thrown where it would be: loading better_sqlite3.node.
    const preload = path.join(root, "other-abi.cjs")
    fs.writeFileSync(
      preload,
      `const dlopen = process.dlopen
process.dlopen = function (module, filename, ...rest) {
  if (!String(filename).endsWith("better_sqlite3.node")) return dlopen.call(this, module, filename, ...rest)
  const error = new Error("The module '" + filename + "'\\nwas compiled against a different Node.js version using\\nNODE_MODULE_VERSION 108. This version of Node.js requires\\nNODE_MODULE_VERSION " + process.versions.modules + ".")
  error.code = "ERR_DLOPEN_FAILED"
  throw error
}
`
    )
    await expectPlainExit({ NODE_OPTIONS: `--require ${preload}` }, /NODE_MODULE_VERSION 108/)
  })

  it("a damaged binary (a real dlopen failure)", async () => {
    fs.writeFileSync(path.join(installed, "..", "better-sqlite3", ADDON), "not a shared library")
    await expectPlainExit({}, /better_sqlite3\.node/)
  })

  it("a missing build", async () => {
    fs.rmSync(path.join(installed, "..", "better-sqlite3", ADDON))
    await expectPlainExit({}, /Could not locate the bindings file/)
  })
})
