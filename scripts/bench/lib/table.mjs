// The one table the bench prints: every figure next to what it is compared with, the ratio, the target
// from issue #6, and whether it is met. Rows whose figure was not run are left out.
import { CONNECTIONS } from "../figures/webhooks.mjs"
import { QUERIES } from "../figures/query.mjs"

export const ms = (v) => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`
export const mb = (v) => `${v.toFixed(1)} MB`
const rps = (v) => `${Math.round(v).toLocaleString("en")} req/s`
const bytes = (v) => `${Math.round(v).toLocaleString("en")} B`
const times = (v) => `${v.toFixed(2)}×`
const micros = (v) => `${Math.round(v)} µs`
const percent = (v) => `${v.toFixed(2)} %`

/** A row: `value` names the metric it shows; the rest name metrics too, or are text. */
const row = (figure, measure, spec) => ({ figure, measure, ...spec })

const startupRows = () => [
  row("cold start", "spawn → initialize, median (vs peer)", { value: "cold.ours", fmt: ms, other: "cold.peer", ratio: "cold.ratio.peer", target: "≤ 0.70× peer", pass: (r) => r("cold.ratio.peer") <= 0.7 }),
  row("cold start", "spawn → initialize, median (vs bare SDK server)", { value: "cold.ours", fmt: ms, other: "cold.bare", ratio: "cold.ratio.bare", target: "≤ 1.10× bare", pass: (r) => r("cold.ratio.bare") <= 1.1 }),
  row("tool footprint", "tools/list result JSON", { value: "tools.ours", fmt: bytes, other: "tools.peer", target: "≤ 8 KB", pass: (r) => r("tools.ours") <= 8192 }),
  row("tool footprint", "tools/list result JSON, --sandbox", { value: "tools.sandbox", fmt: bytes, target: "≤ 8 KB", pass: (r) => r("tools.sandbox") <= 8192 }),
  row("memory", "RSS right after initialize (vs peer)", { value: "rss.init.ours", fmt: mb, other: "rss.init.peer", target: "≤ 80 MB", pass: (r) => r("rss.init.ours") <= 80 }),
  row("memory", "RSS right after initialize (vs bare)", { value: "rss.init.ours", fmt: mb, other: "rss.init.bare" }),
  row("memory", "RSS 2 s after initialize, database and webhooks open (vs peer)", { value: "rss.settled.ours", fmt: mb, other: "rss.settled.peer" }),
  row("memory", "RSS of the webhook process after the ingest load (vs peer)", { value: "rss.webhooks.ingest.ours", fmt: mb, other: "rss.webhooks.ingest.peer" }),
  row("memory", "RSS of the webhook process after the ingest load (vs ceiling)", { value: "rss.webhooks.ingest.ours", fmt: mb, other: "rss.webhooks.ingest.ceiling" })
]

const webhookRows = () =>
  ["ingest", "status"].flatMap((kind) =>
    CONNECTIONS.flatMap((c) => {
      const key = (k) => `${kind}.${c}.${k}`
      const figure = kind === "ingest" ? `webhook ingest c=${c}` : `status callbacks c=${c}`
      return [
        row(figure, "req/s, median of rounds (vs peer)", { value: key("ours.rps"), fmt: rps, other: key("peer.rps"), ratio: key("ratio.peer"), target: "≥ 10× peer", pass: (r) => r(key("ratio.peer")) >= 10 }),
        row(figure, "req/s, median of rounds (vs ceiling)", { value: key("ours.rps"), fmt: rps, other: key("ceiling.rps"), ratio: key("ratio.ceiling"), target: "≥ 0.60× ceiling", pass: (r) => r(key("ratio.ceiling")) >= 0.6 }),
        row(figure, "server CPU per request, median (vs ceiling)", { value: key("ours.cpu"), fmt: micros, other: key("ceiling.cpu") }),
        row(figure, "p99 latency (vs ceiling)", { value: key("ours.p99"), fmt: ms, other: key("ceiling.p99"), ...(c === 50 ? { target: "≤ 50 ms", pass: (r) => r(key("ours.p99")) <= 50 } : {}) }),
        row(figure, "non-2xx + connection errors, all rounds (peer)", { value: key("ours.failed"), fmt: String, other: key("peer.failed"), target: "0", pass: (r) => r(key("ours.failed")) === 0 })
      ]
    })
  )

const queryRows = () =>
  QUERIES.flatMap(({ label }) => [
    ["inprocess", "in process", 5],
    ["stdio", "stdio round trip", 15]
  ].map(([path, how, limit]) => {
    const key = (p) => `query.${path}.${label}.${p}`
    return row(`query: ${label}`, `${how}: p99 (p50 in brackets)`, {
      value: key("p99"),
      fmt: ms,
      note: (r) => `p50 ${ms(r(key("p50")))}`,
      target: `p99 ≤ ${limit} ms`,
      pass: (r) => r(key("p99")) <= limit
    })
  }))

const idleRows = () => [
  row("idle waiting", "CPU of one core during wait_for_reply", { value: "idle.cpuPercent", fmt: percent, target: "< 1 %", pass: (r) => r("idle.cpuPercent") < 1 })
]

const cell = (text) => String(text).replaceAll("|", "\\|")

/** Markdown table, with `extraRows` (rows of figures defined elsewhere) at the end; returns it with the count of targets met and missed. */
export const renderTable = (results, extraRows = []) => {
  const r = (name) => results.get(name)?.value
  const noteOf = (name) => results.get(name)?.note
  const rows = [...startupRows(), ...webhookRows(), ...queryRows(), ...idleRows(), ...extraRows].filter((x) => results.has(x.value))
  let met = 0
  let missed = 0
  const lines = [
    "| figure | measure | this server | compared with | ratio | target | met |",
    "|---|---|---|---|---|---|---|"
  ]
  for (const x of rows) {
    const outcome = x.pass === undefined ? "" : x.pass(r) ? "yes" : "**NO**"
    if (outcome === "yes") met++
    if (outcome === "**NO**") missed++
    const value = `${x.fmt(r(x.value))}${x.note ? ` (${x.note(r)})` : noteOf(x.value) ? ` (${noteOf(x.value)})` : ""}`
    const other = x.other !== undefined && results.has(x.other) ? x.fmt(r(x.other)) : ""
    const ratio = x.ratio !== undefined && results.has(x.ratio) ? times(r(x.ratio)) : ""
    lines.push(`| ${[x.figure, x.measure, value, other, ratio, x.target ?? "", outcome].map(cell).join(" | ")} |`)
  }
  return { text: lines.join("\n"), met, missed }
}
