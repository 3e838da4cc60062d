/**
 * The README holds to its word (issue 24): its Quick start runs (`npm run sandbox` answers an MCP client; the
 * other commands are package scripts CI runs), every `npm run` any README shows exists, every relative link
 * leads to a file, the README stays under 25 KB with the Quick start on its first screen, and the
 * configuration table lists exactly the variables `src/config/` reads.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import packageJson from "../../package.json" with { type: "json" }
import { startMcp } from "../support/McpProcess.js"
import { freePort } from "../support/ports.js"
import { stopAll, tempDir } from "../support/ServerProcess.js"

const REPO = path.resolve(import.meta.dirname, "../..")
const read = (file: string) => fs.readFileSync(path.join(REPO, file), "utf8")
const README = read("README.md")
const scripts: Record<string, string> = packageJson.scripts

/** Every file under `dir` (relative to the repository) whose name passes `keep`, skipping node_modules. */
const filesUnder = (dir: string, keep: (name: string) => boolean): Array<string> =>
  fs.readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name === "results" ? [] : filesUnder(relative, keep)
    return keep(entry.name) ? [relative] : []
  })

/** The README and the ones beside the code and scripts it links to. */
const READMES = ["README.md", ...["src", "scripts", "test"].flatMap((dir) => filesUnder(dir, (name) => name === "README.md"))]

/** A level-2 section of the README, from its heading to the next one. */
const section = (heading: string) => {
  const start = README.indexOf(`\n## ${heading}\n`)
  expect(start, `README has a "## ${heading}" section`).toBeGreaterThan(-1)
  const end = README.indexOf("\n## ", start + 1)
  return README.slice(start, end === -1 ? undefined : end)
}

/** The commands of the Quick start's first code block, one per `&&`, without comments. */
const quickStart = () => {
  const block = /```bash\n([\s\S]*?)```/.exec(section("Quick start"))
  expect(block).not.toBeNull()
  return block![1]!
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "")
    .flatMap((line) => line.split("&&").map((command) => command.trim()))
}

describe("README.md", () => {
  it("is at most 25 KB, with the Quick start's commands on its first screen", () => {
    expect(Buffer.byteLength(README)).toBeLessThanOrEqual(25_000)
    const lines = README.split("\n")
    expect(lines.findIndex((line) => line === "## Quick start")).toBeLessThan(70)
    expect(lines.findIndex((line) => line.startsWith("npm install && npm run sandbox"))).toBeLessThan(70)
  })

  it("Quick start: npm install builds, npm run sandbox runs the built server, npm test is what CI runs", () => {
    expect(quickStart()).toEqual(["npm install", "npm run sandbox", "npm test"])
    // `npm install` runs `prepare`, which builds the dist/index.js that `sandbox` starts.
    expect(scripts.prepare).toBe("node scripts/build.mjs")
    expect(scripts.sandbox).toBe("node dist/index.js --sandbox")
    expect(read(".ci/run")).toMatch(/^npm test$/m)
  })

  it("every `npm run` a README shows is a script of package.json", () => {
    const shown = READMES.flatMap((file) => [...read(file).matchAll(/npm run\s+([\w:-]+)/g)].map((m) => m[1]!))
    expect(shown.length).toBeGreaterThan(5)
    expect([...new Set(shown)].filter((name) => !(name in scripts))).toEqual([])
  })

  it("every relative link in a README leads to a file or folder that exists", () => {
    const broken = READMES.flatMap((file) =>
      [...read(file).matchAll(/\]\(([^)\s]+)\)/g)]
        .map((m) => m[1]!.split("#")[0]!)
        .filter((target) => target !== "" && !/^[a-z]+:/.test(target))
        .filter((target) => !fs.existsSync(path.resolve(REPO, path.dirname(file), target)))
        .map((target) => `${file} → ${target}`)
    )
    expect(broken).toEqual([])
  })

  it("the configuration table lists exactly the environment variables src/config reads", () => {
    const read_ = filesUnder("src/config", (name) => name.endsWith(".ts")).flatMap((file) =>
      [...read(file).matchAll(/"([A-Z][A-Z0-9_]{3,})"/g)].map((m) => m[1]!)
    )
    const documented = section("Configuration")
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .flatMap((line) => [...line.split("|")[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!))
    expect(read_).toContain("TWILIO_AUTH_TOKEN")
    expect([...new Set(documented)].sort()).toEqual([...new Set(read_)].sort())
  })
})

describe("the Quick start's `npm run sandbox`", () => {
  const dir = tempDir()
  afterEach(() => stopAll())
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("answers an MCP client with the sandbox's tools, and sends and receives without a Twilio account", async () => {
    const database = path.join(dir, "sandbox.db")
    const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATABASE_PATH: database, WEBHOOK_PORT: String(await freePort()) }
    const server = await startMcp(env, REPO, [], "stdio", ["npm", "run", "sandbox"])
    expect((await server.client.listTools()).tools.map((t) => t.name)).toContain("simulate_inbound")
    const sent = await server.call("send_sms", { to: "+15558000121", message: "Hello from the Quick start" })
    const reply = await server.call("simulate_inbound", { from: "+15558000121", body: "Hello back" })
    expect(reply.conversationId).toBe(sent.conversationId)
    await server.stderr.waitForLine(/ready \(sandbox: in-memory Twilio\)/)
    await server.stop()
    expect(fs.existsSync(database)).toBe(true)
  })
})
