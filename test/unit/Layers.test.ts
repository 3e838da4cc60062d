/**
 * The layer rule of src/README.md, read from the imports themselves: each folder imports only from folders
 * below it (domain < config < storage | twilio < messaging < mcp < http < the entry files), storage and
 * twilio never from each other, and no module reaches itself through its imports.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

const src = path.resolve(import.meta.dirname, "../../src")

/** Each layer's rank; folders of one rank may not import each other. The files at the top are the entry. */
const rank: Record<string, number> = { domain: 0, config: 1, storage: 2, twilio: 2, messaging: 3, mcp: 4, http: 5, ".": 6 }

/** The folder under src/ a file is in; "." for the entry files at its top. */
const layerOf = (file: string) => {
  const parts = path.relative(src, file).split(path.sep)
  return parts.length === 1 ? "." : parts[0]!
}

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith(".ts") ? [full] : []
  })

/** The project files a module imports: static, type-only and dynamic imports, and re-exports. */
const importsOf = (file: string): ReadonlyArray<string> => {
  const text = fs.readFileSync(file, "utf8")
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^"'`]*?from\s+["']([^"']+)["']/gm),
    ...text.matchAll(/^\s*import\s+["']([^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)
  ].map((m) => m[1]!)
  return specifiers
    .filter((s) => s.startsWith("."))
    .map((s) => path.resolve(path.dirname(file), s).replace(/\.js$/, ".ts"))
    .filter((target) => target.startsWith(src + path.sep))
}

const files = sourceFiles(src)
const graph = new Map(files.map((file) => [file, importsOf(file)]))
const show = (file: string) => path.relative(src, file)

describe("src/ layers", () => {
  it("reads the imports it checks (the rule is not vacuous)", () => {
    expect(files.length).toBeGreaterThan(50)
    expect(graph.get(path.join(src, "App.ts"))).toContain(path.join(src, "messaging", "Sending.ts"))
    expect(graph.get(path.join(src, "storage", "Sql.ts"))).toContain(path.join(src, "storage", "Postgres.ts"))
  })

  it("every import points down, or stays in its folder", () => {
    const upward = files.flatMap((file) =>
      graph.get(file)!.flatMap((target) => {
        const from = layerOf(file)
        const to = layerOf(target)
        if (!(from in rank) || !(to in rank)) return [`${show(file)} → ${show(target)}: a folder with no rank`]
        return from === to || rank[from]! > rank[to]! ? [] : [`${show(file)} → ${show(target)}`]
      })
    )
    expect(upward).toEqual([])
  })

  it("has no import cycle", () => {
    const cycles: Array<string> = []
    const state = new Map<string, "open" | "done">()
    const visit = (file: string, trail: ReadonlyArray<string>) => {
      if (state.get(file) === "done") return
      if (state.get(file) === "open") {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map(show).join(" → "))
        return
      }
      state.set(file, "open")
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file])
      state.set(file, "done")
    }
    for (const file of files) visit(file, [])
    expect(cycles).toEqual([])
  })
})
