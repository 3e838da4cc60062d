#!/usr/bin/env node
// Benchmark suite (issues #6 and #11): this server against the npm peer `twilio-mcp@1.0.0`, a bare MCP SDK
// server, the @effect/platform framework floor and a raw-Node webhook ceiling, side by side in one run, one
// table at the end.
//
//   node scripts/bench/index.mjs [all|cold-start|tools|memory|ingest|status|query|idle|oauth …] [--quick] [--json FILE]
//
// Needs the build (`node scripts/build.mjs`): it measures dist/index.js. Every process it starts is
// stopped on exit, on errors and on Ctrl-C; everything listens on 127.0.0.1. Timings on a shared machine
// are noisy: targets are checked on ratios of interleaved runs and on medians.
import { existsSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as fetchMode from "./figures/fetch.mjs"
import * as httpMcp from "./figures/http-mcp.mjs"
import * as idle from "./figures/idle.mjs"
import * as oauth from "./figures/oauth.mjs"
import * as postgres from "./figures/postgres.mjs"
import * as query from "./figures/query.mjs"
import * as startup from "./figures/startup.mjs"
import * as webhooks from "./figures/webhooks.mjs"
import { killAll } from "./lib/procs.mjs"
import { renderTable } from "./lib/table.mjs"
import { log, OURS_ENTRY } from "./lib/targets.mjs"

/**
 * The figure modules, in the order of the table. Each exports `figures` (name → run(context)) and `rows`
 * (its lines of the table); a new module is one import and one entry here.
 */
const MODULES = [startup, webhooks, query, idle, httpMcp, oauth, postgres, fetchMode]
const FIGURES = Object.assign({}, ...MODULES.map((m) => m.figures))
const usage = `usage: node scripts/bench/index.mjs [${["all", ...Object.keys(FIGURES)].join("|")} …] [--quick] [--json FILE]`

const parseArgs = (argv) => {
  const options = { quick: false, json: undefined, figures: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--quick") options.quick = true
    else if (arg === "--json") options.json = argv[++i]
    else if (arg === "all") options.figures.push(...Object.keys(FIGURES))
    else if (arg in FIGURES) options.figures.push(arg)
    else throw new Error(`unknown argument "${arg}"\n${usage}`)
  }
  if (options.figures.length === 0) options.figures.push(...Object.keys(FIGURES))
  return options
}

const machine = () => {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU"
  return `${cpu}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}, ${os.type()} ${os.release()}`
}

const main = async () => {
  const options = parseArgs(process.argv.slice(2))
  if (!existsSync(OURS_ENTRY)) throw new Error(`${OURS_ENTRY} is missing: run \`node scripts/build.mjs\` first`)
  const results = new Map()
  const context = {
    quick: options.quick,
    record: (name, value, note) => results.set(name, { value, note }),
    has: (name) => results.has(name)
  }
  const loadBefore = os.loadavg()[0]
  const startedAt = Date.now()
  for (const name of new Set(options.figures)) {
    log(`— ${name}${options.quick ? " (quick)" : ""}`)
    await FIGURES[name](context)
  }
  const { text, met, missed } = renderTable(results, MODULES.flatMap((m) => m.rows()))
  const command = `node scripts/bench/index.mjs ${process.argv.slice(2).join(" ")}`.trim()
  process.stdout.write([
    "",
    `Machine: ${machine()}; load average ${loadBefore.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end (shared machine).`,
    `Command: \`${command}\` (${((Date.now() - startedAt) / 60_000).toFixed(1)} min, ${new Date().toISOString()})`,
    "",
    text,
    "",
    `Targets met: ${met}, missed: ${missed}.`,
    ""
  ].join("\n"))
  if (options.json !== undefined) writeFileSync(options.json, JSON.stringify(Object.fromEntries(results), null, 2))
}

main().then(
  () => killAll(),
  (error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error}\n`)
    killAll()
    process.exitCode = 1
  }
)
