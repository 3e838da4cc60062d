import { execFileSync } from "node:child_process"

/** End-to-end tests spawn the built server: build it once, from the current sources, before any test. */
export default function setup() {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" })
}
