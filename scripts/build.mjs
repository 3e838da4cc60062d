// Bundles the server into one ESM file: module loading is most of start-up, and one file loads ~3x
// faster than tsc output. The Twilio SDK and better-sqlite3 (native) stay external; the SDK is imported
// only when first needed.
import { build } from "esbuild"
import { chmod } from "node:fs/promises"

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/index.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["better-sqlite3", "twilio", "twilio/*"],
  // Bundled CommonJS dependencies call require(): give them one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from \"node:module\";\nconst require = __createRequire(import.meta.url);"
  },
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning"
})
await chmod("dist/index.js", 0o755)
