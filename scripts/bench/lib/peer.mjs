// The peer, `twilio-mcp@1.0.0` from npm, installed on demand into a cache directory that outlives the run
// (its better-sqlite3 compiles from source here: minutes, not worth repeating on every run).
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

export const PEER_SPEC = "twilio-mcp@1.0.0"
const PEER_DIR = process.env.BENCH_PEER_DIR ?? join(tmpdir(), "twilio-mcp-bench-peer-1.0.0")
const INSTALL_TIMEOUT_MS = 15 * 60_000

const packageDir = join(PEER_DIR, "node_modules", "twilio-mcp")

/** Where the peer's entry points are. Its MCP server is dist/index.js (stdio only, no webhooks); its
 * Express webhook server is dist/webhook-server.js, which starts itself when run as the main module. */
export const peerPaths = () => ({
  mcp: join(packageDir, "dist", "index.js"),
  webhooks: join(packageDir, "dist", "webhook-server.js")
})

const installed = () => {
  try {
    return JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version === "1.0.0" &&
      existsSync(join(PEER_DIR, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"))
  } catch {
    return false
  }
}

/** Installs the peer unless the cache has it; returns its paths. */
export const ensurePeer = async (log) => {
  if (!installed()) {
    mkdirSync(PEER_DIR, { recursive: true })
    log(`installing ${PEER_SPEC} into ${PEER_DIR} (better-sqlite3 compiles from source: a few minutes)…`)
    await promisify(execFile)("npm", ["install", "--prefix", PEER_DIR, "--no-audit", "--no-fund", PEER_SPEC], {
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024
    })
    if (!installed()) throw new Error(`npm install ${PEER_SPEC} finished but ${packageDir} is incomplete`)
  }
  return peerPaths()
}
