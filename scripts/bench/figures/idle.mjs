// Idle waiting: the CPU time (utime + stime from /proc) of this server while one `wait_for_reply` waits
// its full timeout for a reply that never comes, with progress notifications on, as a client asks.
import { performance } from "node:perf_hooks"
import { setTimeout as sleep } from "node:timers/promises"
import { cpuSeconds } from "../lib/procs.mjs"
import { percent, row } from "../lib/table.mjs"
import { mcpServers, SETTLE_MS, tempDir } from "../lib/targets.mjs"

const idle = async ({ quick, record }) => {
  const dir = tempDir("idle")
  const timeoutSeconds = quick ? 5 : 45
  const server = await mcpServers.ours.spawn(dir)
  try {
    await server.initialized
    // The first tool call waits for the database and the webhook server: let start-up finish first.
    await server.callTool("list_conversations", {})
    await sleep(SETTLE_MS)
    const cpuBefore = cpuSeconds(server.pid)
    const startedAt = performance.now()
    const result = await server.callTool("wait_for_reply", { from: "+15551230001", timeoutSeconds }, {
      timeoutMs: (timeoutSeconds + 15) * 1000,
      progressToken: "bench"
    })
    const wallSeconds = (performance.now() - startedAt) / 1000
    const cpu = cpuSeconds(server.pid) - cpuBefore
    if (result.structuredContent?.status !== "timeout") throw new Error(`wait_for_reply ended with ${JSON.stringify(result.structuredContent)}`)
    record("idle.cpuPercent", (cpu / wallSeconds) * 100, `${(cpu * 1000).toFixed(0)} ms CPU in ${wallSeconds.toFixed(1)} s`)
    record("idle.seconds", timeoutSeconds)
  } finally {
    await server.close()
  }
}

export const figures = { idle }

export const rows = () => [
  row("idle waiting", "CPU of one core during wait_for_reply", { value: "idle.cpuPercent", fmt: percent, target: "< 1 %", pass: (r) => r("idle.cpuPercent") < 1 })
]
