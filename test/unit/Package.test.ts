/** What the npm package declares (issue 16): runtime dependencies, registry metadata. The install itself: test/e2e/package.test.ts. */
import { describe, expect, it } from "@effect/vitest"
import { build } from "esbuild"
import * as fs from "node:fs"
import { builtinModules } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import packageJson from "../../package.json" with { type: "json" }
import serverJson from "../../server.json" with { type: "json" }
// @ts-expect-error: a plain .mjs script, no types
import { buildOptions } from "../../scripts/build.mjs"

const REPO = fileURLToPath(new URL("../..", import.meta.url))

/** The package a bare import specifier names: "twilio/lib/x.js" → "twilio", "@scope/pkg/x" → "@scope/pkg". */
const packageOf = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")

describe("package.json", () => {
  it("depends at run time on exactly the packages the bundle leaves external; everything bundled is a dev dependency", async () => {
    const result = await build({ ...buildOptions, absWorkingDir: REPO, write: false, metafile: true, logLevel: "silent" })
    const imports = Object.values(result.metafile?.outputs ?? {}).flatMap((output) => output.imports)
    const external = new Set(
      imports
        .filter((i) => i.external && !i.path.startsWith("node:") && !builtinModules.includes(i.path))
        .map((i) => packageOf(i.path))
    )
    // ws's optional native speed-ups: required inside try/catch, absent is fine.
    for (const optional of ["bufferutil", "utf-8-validate"]) external.delete(optional)
    expect(Object.keys(packageJson.dependencies).sort()).toEqual([...external].sort())
    expect(Object.keys(packageJson.dependencies).sort()).toEqual(["better-sqlite3", "oidc-provider", "twilio"])
    expect(Object.keys(packageJson.devDependencies)).toEqual(expect.arrayContaining(["effect", "@modelcontextprotocol/sdk"]))
  }, 60_000)

  it("keeps the twilio-mcp command under a package name of its own", () => {
    expect(packageJson.name).toBe("twilio-sms-mcp")
    expect(packageJson.bin).toEqual({ "twilio-mcp": "dist/index.js" })
  })

  it("declares the install scripts it relies on, and denies the ones it does not need", () => {
    expect(packageJson.allowScripts).toMatchObject({ "better-sqlite3": true, esbuild: true })
  })
})

describe("server.json (MCP Registry)", () => {
  const [npm] = serverJson.packages

  it("describes this npm package, run over stdio", () => {
    expect(serverJson.$schema).toBe("https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json")
    expect(serverJson.name).toBe(packageJson.mcpName)
    expect(serverJson.version).toBe(packageJson.version)
    expect(serverJson.description.length).toBeLessThanOrEqual(100)
    expect(serverJson.packages).toHaveLength(1)
    expect(npm).toMatchObject({
      registryType: "npm",
      identifier: packageJson.name,
      version: packageJson.version,
      transport: { type: "stdio" }
    })
  })

  it("marks the secrets and the required variables; every variable is one the README documents", () => {
    const variables = Object.fromEntries(npm!.environmentVariables.map((v) => [v.name, v]))
    expect(variables.TWILIO_AUTH_TOKEN).toMatchObject({ isRequired: true, isSecret: true })
    expect(variables.TWILIO_ACCOUNT_SID).toMatchObject({ isRequired: true })
    // Credentials may be part of the URL (user:password@).
    // Optional since replies are fetched without a public URL; still secret (it may carry user:password@).
    expect(variables.WEBHOOK_BASE_URL).toMatchObject({ isSecret: true })
    expect(variables.WEBHOOK_BASE_URL?.isRequired).not.toBe(true)
    const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8")
    for (const name of Object.keys(variables)) expect(readme).toContain(`| \`${name}\` |`)
  })
})

describe("package-lock.json: a fresh clone installs with the machine's npm", () => {
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, { optionalDependencies?: Record<string, string>; hasInstallScript?: boolean }>
  }
  const nameOf = (key: string) => key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length)

  /** Where npm would find `name` for the package at `key`: its own node_modules, then each parent's. */
  const resolves = (key: string, name: string): boolean => {
    const candidate = `${key === "" ? "" : `${key}/`}node_modules/${name}`
    if (lock.packages[candidate] !== undefined) return true
    const parent = key.lastIndexOf("/node_modules/")
    return key !== "" && resolves(parent === -1 ? "" : key.slice(0, parent), name)
  }

  it("lists every platform's optional packages (npm 11's `npm ci` rejects a lockfile missing any)", () => {
    const missing = Object.entries(lock.packages).flatMap(([key, entry]) =>
      Object.keys(entry.optionalDependencies ?? {}).filter((name) => !resolves(key, name)).map((name) => `${key} → ${name}`)
    )
    expect(missing).toEqual([])
  })

  it("every dependency with an install script is approved or denied in allowScripts (no npm 11 warning)", () => {
    const withScripts = Object.entries(lock.packages).filter(([key, entry]) => key !== "" && entry.hasInstallScript).map(([key]) => nameOf(key))
    expect(withScripts.filter((name) => !(name in packageJson.allowScripts))).toEqual([])
  })

  it("CI installs with the machine's npm ci", () => {
    const ci = fs.readFileSync(path.join(REPO, ".ci", "run"), "utf8")
    expect(ci).toMatch(/^npm ci\b/m)
    expect(ci).not.toMatch(/npm@/)
  })
})
