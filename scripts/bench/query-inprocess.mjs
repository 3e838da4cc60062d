// In-process query timing, run as its own process: `node query-inprocess.mjs <bundle.mjs> <plan.json>`.
// The bundle is compiled from src/ at bench time (see figures/query.mjs); each call goes through the same
// path as a `tools/call` minus the JSON-RPC pipe: argument decoding, the handler and its SQL, result
// encoding. Prints {tool: [ms, …]} as JSON.
import { readFileSync } from "node:fs"
import { pathToFileURL } from "node:url"

const [bundlePath, planPath] = process.argv.slice(2)
const app = await import(pathToFileURL(bundlePath).href)
const plan = JSON.parse(readFileSync(planPath, "utf8"))

const config = app.Either.getOrThrowWith(app.parseConfig(plan.env, { sandbox: false, baseDir: plan.cwd }), (e) => e)
const runtime = app.ManagedRuntime.make(app.Layer.merge(app.appLayer(config), app.loggingLayer("warn")))

const call = async ({ tool, args }) => {
  const result = await runtime.runPromise(app.callTool(app.tools, tool, args))
  if (result.isError) throw new Error(`${tool} failed: ${result.content[0].text}`)
}

const timings = {}
for (const call0 of plan.calls.slice(0, plan.warmup)) await call(call0)
for (const item of plan.calls) {
  const startedAt = performance.now()
  await call(item)
  ;(timings[item.label] ??= []).push(performance.now() - startedAt)
}
await runtime.dispose()
process.stdout.write(JSON.stringify(timings))
