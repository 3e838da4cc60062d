// Child processes for the benchmark: every one is registered and stopped when the bench ends, on success,
// on an error, on Ctrl-C and on SIGTERM. Plus what /proc says about a process (RSS, CPU time).
import { spawn } from "node:child_process"
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"

export const HOST = "127.0.0.1"

const live = new Set()
const tempDirs = new Set()

/** Kills every process still registered; synchronous, so it also works inside an `exit` handler. */
export const killAll = () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL")
    } catch {}
  }
  live.clear()
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

process.once("exit", killAll)
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping every process it started\n`)
    killAll()
    process.exit(130)
  })
}

/** A temp directory removed when the bench exits. */
export const tempDir = (label) => {
  const dir = mkdtempSync(join(tmpdir(), `twilio-mcp-bench-${label}-`))
  tempDirs.add(dir)
  return dir
}

/**
 * Spawns a registered child. `log` is a file path that receives the child's stderr (a file, not a pipe
 * nobody reads, so a chatty server never blocks on a full pipe and we never pay to parse its logs).
 */
export const start = (command, args, { env = {}, cwd, log, stdin = "pipe", stdout = "pipe" } = {}) => {
  const stderr = log === undefined ? "ignore" : openSync(log, "a")
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: [stdin, stdout, stderr]
  })
  live.add(child)
  child.once("exit", () => live.delete(child))
  child.once("error", () => live.delete(child))
  return child
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves once it has exited. */
export const stop = async (child, graceMs = 3000) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.stdin?.end()
  child.kill("SIGTERM")
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
  await exited
  clearTimeout(timer)
}

/** A port that was free a moment ago on 127.0.0.1. */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, HOST, () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** Polls `check` every `everyMs` until it returns true, at most `timeoutMs`; throws `what` on timeout. */
export const waitUntil = async (what, check, { timeoutMs = 30_000, everyMs = 50 } = {}) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(everyMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** Resident set size in MB, from /proc/<pid>/status. */
export const rssMb = (pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  if (match === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) / 1024
}

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100

/** User + system CPU seconds a process has used, from /proc/<pid>/stat (fields 14 and 15). */
export const cpuSeconds = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** Runs a registered child to completion and resolves with its stdout; rejects on failure or timeout. */
export const output = (command, args, { timeoutMs, log, env = process.env } = {}) =>
  new Promise((resolve, reject) => {
    const child = start(command, args, { env, log, stdin: "ignore" })
    const chunks = []
    child.stdout.on("data", (chunk) => chunks.push(chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("error", reject)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(Buffer.concat(chunks).toString("utf8"))
      else reject(new Error(`${args[0]} exited with ${code ?? signal}${log ? `; see ${log}` : ""}`))
    })
  })
