// The one table the bench prints: every figure next to what it is compared with, the ratio, the target
// from the issues, and whether it is met. Each figure module declares its own rows (`rows`); rows whose
// figure was not run are left out.

export const ms = (v) => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`
export const mb = (v) => `${v.toFixed(1)} MB`
export const rps = (v) => `${Math.round(v).toLocaleString("en")} req/s`
export const bytes = (v) => `${Math.round(v).toLocaleString("en")} B`
export const micros = (v) => `${Math.round(v)} µs`
export const percent = (v) => `${v.toFixed(2)} %`
const times = (v) => `${v.toFixed(2)}×`

/**
 * A row: `value` names the metric it shows; `other` and `ratio` name metrics too; `target` is text and
 * `pass(r)` checks it (r reads a metric); `note(r)` adds text after the value.
 */
export const row = (figure, measure, spec) => ({ figure, measure, ...spec })

const cell = (text) => String(text).replaceAll("|", "\\|")

/** Markdown table of `rows`; returns it with the count of targets met and missed. */
export const renderTable = (results, rows) => {
  const r = (name) => results.get(name)?.value
  const noteOf = (name) => results.get(name)?.note
  let met = 0
  let missed = 0
  const lines = [
    "| figure | measure | this server | compared with | ratio | target | met |",
    "|---|---|---|---|---|---|---|"
  ]
  for (const x of rows.filter((x) => results.has(x.value))) {
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
