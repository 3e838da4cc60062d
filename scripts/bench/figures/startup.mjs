// Cold start (spawn → `initialize` result), tool footprint (`tools/list` bytes) and memory after start.
import { setTimeout as sleep } from "node:timers/promises"
import { ensurePeer } from "../lib/peer.mjs"
import { rssMb } from "../lib/procs.mjs"
import { median, medianRatio, rotate } from "../lib/stats.mjs"
import { bytes, mb, ms, row } from "../lib/table.mjs"
import { log, mcpServers, tempDir } from "../lib/targets.mjs"

const NAMES = ["ours", "peer", "bare"]

/** Spawns one server, waits for `initialize`, runs `then` on it, and always stops it. */
const withServer = async (name, dir, then, options) => {
  const server = await mcpServers[name].spawn(dir, options)
  try {
    const init = await server.initialized
    return await then(server, init)
  } finally {
    await server.close()
  }
}

/** ≥ 11 interleaved rounds (A B C, B C A, …); the RSS right after `initialize` comes along. */
const coldStart = async ({ quick, record }) => {
  await ensurePeer(log) // an install must not land inside a timed spawn
  const dir = tempDir("cold-start")
  const rounds = quick ? 3 : 15
  const ms = { ours: [], peer: [], bare: [] }
  const rss = { ours: [], peer: [], bare: [] }
  for (let round = 0; round < rounds; round++) {
    for (const name of rotate(NAMES, round)) {
      await withServer(name, dir, (server, init) => {
        ms[name].push(init.ms)
        rss[name].push(rssMb(server.pid))
      })
    }
    log(`cold start round ${round + 1}/${rounds}: ${NAMES.map((n) => `${n} ${ms[n].at(-1).toFixed(0)} ms`).join(", ")}`)
  }
  for (const name of NAMES) {
    record(`cold.${name}`, median(ms[name]))
    record(`rss.init.${name}`, median(rss[name]))
  }
  record("cold.ratio.peer", medianRatio(ms.ours, ms.peer))
  record("cold.ratio.bare", medianRatio(ms.ours, ms.bare))
  record("cold.runs", rounds)
}

/** Bytes of the `tools/list` result as JSON, for the default and the sandbox tool sets. */
const toolFootprint = async ({ record }) => {
  await ensurePeer(log)
  const dir = tempDir("tools")
  const bytesOf = (name, options) =>
    withServer(name, dir, async (server) => {
      const result = await server.request("tools/list", {}, 30_000)
      return { bytes: Buffer.byteLength(JSON.stringify(result)), count: result.tools.length }
    }, options)
  const ours = await bytesOf("ours")
  const sandbox = await bytesOf("ours", { args: ["--sandbox"] })
  const peer = await bytesOf("peer")
  record("tools.ours", ours.bytes, `${ours.count} tools`)
  record("tools.sandbox", sandbox.bytes, `${sandbox.count} tools`)
  record("tools.peer", peer.bytes, `${peer.count} tools`)
}

/**
 * RSS after `initialize` (unless the cold-start figure measured it) and once the process has settled:
 * this server opens its database and webhook server after answering `initialize`.
 */
const memory = async ({ quick, record, has }) => {
  await ensurePeer(log)
  const dir = tempDir("memory")
  const rounds = quick ? 1 : 3
  const atInit = { ours: [], peer: [], bare: [] }
  const settled = { ours: [], peer: [], bare: [] }
  for (let round = 0; round < rounds; round++) {
    for (const name of rotate(NAMES, round)) {
      await withServer(name, dir, async (server) => {
        atInit[name].push(rssMb(server.pid))
        await server.request("tools/list", {}, 30_000)
        await sleep(2000)
        settled[name].push(rssMb(server.pid))
      })
    }
  }
  for (const name of NAMES) {
    if (!has(`rss.init.${name}`)) record(`rss.init.${name}`, median(atInit[name]))
    record(`rss.settled.${name}`, median(settled[name]))
  }
}

export const figures = { "cold-start": coldStart, tools: toolFootprint, memory }

export const rows = () => [
  row("cold start", "spawn → initialize, median (vs peer)", { value: "cold.ours", fmt: ms, other: "cold.peer", ratio: "cold.ratio.peer", target: "≤ 0.70× peer", pass: (r) => r("cold.ratio.peer") <= 0.7 }),
  row("cold start", "spawn → initialize, median (vs bare SDK server)", { value: "cold.ours", fmt: ms, other: "cold.bare", ratio: "cold.ratio.bare", target: "≤ 1.10× bare", pass: (r) => r("cold.ratio.bare") <= 1.1 }),
  row("tool footprint", "tools/list result JSON", { value: "tools.ours", fmt: bytes, other: "tools.peer", target: "≤ 8 KB", pass: (r) => r("tools.ours") <= 8192 }),
  row("tool footprint", "tools/list result JSON, --sandbox", { value: "tools.sandbox", fmt: bytes, target: "≤ 8 KB", pass: (r) => r("tools.sandbox") <= 8192 }),
  row("memory", "RSS right after initialize (vs peer)", { value: "rss.init.ours", fmt: mb, other: "rss.init.peer", target: "≤ 80 MB", pass: (r) => r("rss.init.ours") <= 80 }),
  row("memory", "RSS right after initialize (vs bare)", { value: "rss.init.ours", fmt: mb, other: "rss.init.bare" }),
  row("memory", "RSS 2 s after initialize, database and webhooks open (vs peer)", { value: "rss.settled.ours", fmt: mb, other: "rss.settled.peer" })
]
