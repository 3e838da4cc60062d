#!/usr/bin/env node
// Where a webhook's time goes: this server's `webhooks` process under the bench's load, with V8's sampling
// profiler on, then its self time summed per area, per module and per function of the original sources.
//
//   node scripts/bench/profile.mjs [ingest|status] [--connections N] [--seconds S] [--keep DIR]
//
// It bundles src/main.ts with scripts/build.mjs's options plus a source map, so samples map back to src/…
// and node_modules/…; starts it with --cpu-prof, warms it up, loads it for S seconds with
// loadgen.mjs, stops it with SIGTERM (the profile is written on exit) and prints the tables. Everything
// listens on 127.0.0.1; --keep DIR keeps the .cpuprofile and the bundle with its map (a .cpuprofile opens
// in Chrome DevTools).
import { build } from "esbuild"
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from "node:fs"
import { SourceMap } from "node:module"
import { join, relative } from "node:path"
import { buildOptions } from "../build.mjs"
import { runOnce } from "./figures/webhooks.mjs"
import { freePort, HOST, killAll, start, stop, tempDir, waitUntil } from "./lib/procs.mjs"
import { log, oursEnv, REPO } from "./lib/targets.mjs"

const parseArgs = (argv) => {
  const options = { kind: "ingest", connections: 50, seconds: 10, keep: undefined }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "ingest" || arg === "status") options.kind = arg
    else if (arg === "--connections") options.connections = Number(argv[++i])
    else if (arg === "--seconds") options.seconds = Number(argv[++i])
    else if (arg === "--keep") options.keep = argv[++i]
    else throw new Error(`unknown argument "${arg}"\nusage: node scripts/bench/profile.mjs [ingest|status] [--connections N] [--seconds S] [--keep DIR]`)
  }
  if (!(options.connections > 0 && options.seconds > 0)) throw new Error("--connections and --seconds must be positive numbers")
  return options
}

/** The server as built for release, in `dir` with a source map; its external packages resolve from the project's node_modules. */
const bundle = async (dir) => {
  await build({ ...buildOptions, absWorkingDir: REPO, outdir: dir, sourcemap: "external" })
  if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"))
  return join(dir, "index.js")
}

/** A source file as a module name: the package under node_modules, or the path under src/. */
const moduleOf = (source) => {
  const path = relative(REPO, source).replaceAll("\\", "/")
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:dist\/(?:esm|cjs|dts)\/)?(.*)$/.exec(path)
  return inModules === null ? path : `${inModules[1]}/${inModules[2]}`
}

/**
 * Areas a sample's own frame belongs to, first match wins: a rough split by the code that was running, not
 * by who asked for it (the Effect runtime's share is spent on behalf of every stage).
 */
const AREAS = [
  ["SQLite statements (native, via better-sqlite3)", (m, f) => (m === "@effect/sql-sqlite-node/src/SqliteClient.ts" && f.startsWith("(anonymous)")) || m.startsWith("better-sqlite3/")],
  ["@effect/sql (compile, prepare cache, transactions)", (m) => m.startsWith("@effect/sql")],
  ["signature (twilio webhooks + crypto)", (m) => m.startsWith("twilio/") || m.startsWith("node:internal/crypto")],
  ["Schema decode/encode", (m) => /^effect\/src\/(ParseResult|Schema|SchemaAST)\.ts$/.test(m)],
  ["tracing spans (Effect.fn, withSpan)", (m, f) => m === "effect/src/internal/tracer.ts" || /^(unsafeMakeSpan|withSpan|NativeSpan|defineLength|fnApply) /.test(f)],
  ["logging (Logger)", (m) => /^effect\/src\/(internal\/logger[^/]*|Logger)\.ts$/.test(m)],
  ["@effect/platform(-node) HTTP and its router", (m) => m.startsWith("@effect/platform") || m.startsWith("find-my-way-ts/")],
  ["node:http, net, streams, socket writes", (m) => /^node:(_http|net|internal\/(streams|http|stream_base|url)|events|stream|url)/.test(m) || m === "(writev)" || m === "(writeBuffer)"],
  ["Effect runtime (fibers, context, scheduler, data)", (m) => m.startsWith("effect/")],
  ["this server (src/)", (m) => m.startsWith("src/")],
  ["module loading (start-up)", (m) => /^node:internal\/modules|^\((parse|compile)/.test(m)],
  ["garbage collector", (m) => m === "(garbage collector)"],
  ["V8 and native, unattributed ((program))", (m) => m === "(program)"],
  ["other Node internals (timers, microtasks)", (m) => m.startsWith("node:") || m === "(runMicrotasks)"]
]
const areaOf = (module, fn) => AREAS.find(([, test]) => test(module, fn))?.[0] ?? "other"

/**
 * Self time per function, per module and per area, idle samples left out; samples outside the bundle (Node
 * internals, GC, native calls) by their kind.
 */
const summarize = (profile, bundlePath) => {
  // The entry and every chunk it loads, each with its own source map.
  const maps = new Map()
  const mapOf = (url) => {
    if (!maps.has(url)) {
      const file = new URL(url).pathname
      maps.set(url, existsSync(`${file}.map`) ? new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8"))) : undefined)
    }
    return maps.get(url)
  }
  const buildDir = new URL(`file://${join(bundlePath, "..")}/`).href
  const selfMicros = new Map(profile.nodes.map((n) => [n.id, 0]))
  const deltas = profile.timeDeltas
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    selfMicros.set(id, selfMicros.get(id) + (deltas[i + 1] ?? 0))
  }
  const byFunction = new Map()
  const byModule = new Map()
  const byArea = new Map()
  const add = (table, key, micros) => table.set(key, (table.get(key) ?? 0) + micros)
  let total = 0
  let idle = 0
  for (const node of profile.nodes) {
    const micros = selfMicros.get(node.id)
    if (micros === 0) continue
    if (node.callFrame.url === "" && node.callFrame.functionName === "(idle)") {
      idle += micros
      continue
    }
    total += micros
    const { functionName, url, lineNumber, columnNumber } = node.callFrame
    let module
    let where
    if (url.startsWith(buildDir) && mapOf(url) !== undefined) {
      const entry = mapOf(url).findEntry(lineNumber, columnNumber)
      module = entry.originalSource === undefined ? "(bundle, unmapped)" : moduleOf(new URL(entry.originalSource, url).pathname)
      where = `${module}:${(entry.originalLine ?? 0) + 1}`
    } else if (url === "") {
      // (garbage collector), (program) as V8 names them; native functions (writev) in brackets too.
      module = functionName.startsWith("(") ? functionName : `(${functionName || "anonymous"})`
      where = module
    } else {
      module = url.startsWith("node:") ? url : moduleOf(new URL(url).pathname)
      where = `${module}:${lineNumber + 1}`
    }
    const fn = `${functionName || "(anonymous)"} ${where}`
    add(byModule, module, micros)
    add(byFunction, fn, micros)
    add(byArea, areaOf(module, fn), micros)
  }
  return { total, idle, byFunction, byModule, byArea }
}

const top = (table, total, n) =>
  [...table].sort((a, b) => b[1] - a[1]).slice(0, n).map(([key, micros]) =>
    `${(micros / 1000).toFixed(0).padStart(7)} ms ${((micros / total) * 100).toFixed(1).padStart(5)} %  ${key}`
  ).join("\n")

const main = async () => {
  const options = parseArgs(process.argv.slice(2))
  const dir = tempDir("profile")
  const kept = options.keep ?? dir
  const profileDir = join(kept, `profile-${Date.now()}`)
  mkdirSync(profileDir, { recursive: true })
  log("bundling src/main.ts with a source map…")
  const entry = await bundle(kept)
  const port = await freePort()
  const databasePath = join(dir, "ours.db")
  const child = start(process.execPath, ["--cpu-prof", "--cpu-prof-dir", profileDir, entry, "webhooks"], {
    cwd: dir,
    env: await oursEnv(databasePath, port),
    log: join(dir, "ours.log"),
    stdin: "ignore",
    stdout: "ignore"
  })
  await waitUntil(`webhooks on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`the webhooks process exited with ${child.exitCode}; see ${dir}/ours.log`)
    return fetch(`http://${HOST}:${port}/healthz`).then((r) => r.ok, () => false)
  })
  const server = { port, child, databasePath }
  const load = (sidBase, count, durationMs) =>
    runOnce({ dir, kind: options.kind, name: "ours", server, connections: options.connections, timing: { warmupMs: 0, durationMs }, count, sidBase })
  // A first load warms the JIT; the profile covers it too, but it is short beside the measured one.
  const warm = await load(2 ** 40, 5_000, 2_000)
  const result = await load(2 ** 40 + 10_000, Math.max(20_000, Math.ceil(warm.rps * options.seconds * 3)), options.seconds * 1000)
  await stop(child, 30_000)
  const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"))
  if (file === undefined) throw new Error(`no .cpuprofile in ${profileDir}: did the process exit cleanly? see ${dir}/ours.log`)
  const { total, idle, byFunction, byModule, byArea } = summarize(JSON.parse(readFileSync(join(profileDir, file), "utf8")), entry)
  const requests = warm.requests + result.requests
  process.stdout.write([
    `${options.kind}, ${options.connections} connections, ${options.seconds} s: ${result.rps.toFixed(0)} req/s, p99 ${result.p99.toFixed(1)} ms, ` +
    `${result.cpuMicros.toFixed(0)} µs CPU/request (profiler on), non-2xx ${result.non2xx}, errors ${result.errors}`,
    `profile: ${(total / 1000).toFixed(0)} ms busy (+ ${(idle / 1000).toFixed(0)} ms idle) over ~${requests} requests, warm-up and start-up included` +
    (options.keep === undefined ? "" : `; ${join(profileDir, file)}`),
    "",
    "self time by area (the code that ran; the Effect runtime works for every stage):",
    top(byArea, total, AREAS.length + 1),
    "",
    "self time by module:",
    top(byModule, total, 30),
    "",
    "self time by function:",
    top(byFunction, total, 40),
    ""
  ].join("\n"))
}

main().then(
  () => killAll(),
  (error) => {
    process.stderr.write(`profile failed: ${error.stack ?? error}\n`)
    killAll()
    process.exitCode = 1
  }
)
