// Bundles the server into one ESM file: module loading is most of start-up, and one file loads ~3x
// faster than tsc output. The Twilio SDK, better-sqlite3 (native) and oidc-provider stay external; the SDK is
// imported only when first needed, oidc-provider only by `http` with MCP_OAUTH_BUILTIN.
import { build } from "esbuild"
import { chmod, readFile, rm } from "node:fs/promises"
import { pathToFileURL } from "node:url"

/**
 * CommonJS packages that answering `initialize` does not need, loaded on first use: a CommonJS module runs
 * when an `import` of it runs (at start-up), but a `require` inside a function runs only when called. Each
 * is reached only through the classes listed ("default" for the default export), which stand-ins
 * construct on demand.
 * - better-sqlite3 (external): the native driver and the search for its binary, needed once the database
 *   opens, after `initialize` is answered.
 * - ws: @effect/platform-node's WebSocket upgrade support; the webhook server never upgrades.
 * - sms-segments-calculator: segment counts, needed by the first send or dry run.
 */
const lazyClasses = { "better-sqlite3": ["default"], ws: ["WebSocketServer"], "sms-segments-calculator": ["SegmentedMessage"] }

const standIn = (pkg, name) => {
  const real = name === "default" ? `require(${JSON.stringify(pkg)})` : `require(${JSON.stringify(pkg)}).${name}`
  return `export ${name === "default" ? "default class" : `class ${name}`} { constructor(...args) { return new (${real})(...args) } }`
}

/**
 * The MCP SDK's Server builds an Ajv instance (Ajv, its formats, their regexps) in its constructor, for
 * validating elicitation answers, which this server never asks for. Built on first use instead.
 */
const AJV_PROVIDER = /@modelcontextprotocol\/sdk\/dist\/esm\/validation\/ajv-provider\.js$/
const ajvOnFirstUse = [
  ["import Ajv from 'ajv';", "function Ajv(...args) { return new (require('ajv'))(...args); }"],
  ["import _addFormats from 'ajv-formats';", "function _addFormats(...args) { return require('ajv-formats')(...args); }"],
  [
    /constructor\(ajv\) \{\s*this\._ajv = ajv \?\? createDefaultAjvInstance\(\);\s*\}/,
    "constructor(ajv) { this._ajvGiven = ajv; }\n    get _ajv() { return (this._ajvMade ??= this._ajvGiven ?? createDefaultAjvInstance()); }"
  ]
]

/**
 * node-postgres' optional native binding, reached only through `pg.native`, which @effect/sql-pg never reads:
 * a module that says so if it ever were, instead of a dependency on a native addon nobody installs.
 */
const NOT_BUNDLED = /^pg-native$/

const loadOnFirstUse = {
  name: "load-on-first-use",
  setup(plugin) {
    plugin.onResolve({ filter: NOT_BUNDLED }, (args) => ({ path: args.path, namespace: "not-bundled" }))
    plugin.onLoad({ filter: /.*/, namespace: "not-bundled" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not part of this bundle`)})`,
      loader: "js"
    }))
    const names = new RegExp(`^(${Object.keys(lazyClasses).join("|")})$`)
    // The stand-in's own `require` of the package resolves to the real one.
    plugin.onResolve({ filter: names }, (args) => (args.namespace === "on-first-use" ? undefined : { path: args.path, namespace: "on-first-use" }))
    plugin.onLoad({ filter: /.*/, namespace: "on-first-use" }, (args) => ({
      contents: lazyClasses[args.path].map((name) => standIn(args.path, name)).join("\n"),
      resolveDir: process.cwd(),
      loader: "js"
    }))
    plugin.onLoad({ filter: AJV_PROVIDER }, async (args) => {
      const source = await readFile(args.path, "utf8")
      // A newer SDK whose module no longer matches keeps it untouched (Ajv then built at start-up).
      if (!ajvOnFirstUse.every(([from]) => (typeof from === "string" ? source.includes(from) : from.test(source)))) {
        return { contents: source, loader: "js", warnings: [{ text: "ajv-provider.js changed: Ajv stays built at start-up" }] }
      }
      return { contents: ajvOnFirstUse.reduce((text, [from, to]) => text.replace(from, to), source), loader: "js" }
    })
  }
}

/** Also what test/unit/Package.test.ts builds (in memory) to compare the bundle's imports with package.json. */
export const buildOptions = {
  entryPoints: { index: "src/main.ts" },
  outdir: "dist",
  // What main.ts imports on demand (the HTTP server, the http command's transport) goes into chunks of its own,
  // loaded after an MCP client's `initialize` is answered.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // oidc-provider (the built-in OAuth server) finds its models by class name, which minification drops.
  external: ["better-sqlite3", "twilio", "twilio/*", "oidc-provider"],
  plugins: [loadOnFirstUse],
  // Bundled CommonJS dependencies call require(): give them one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from \"node:module\";\nconst require = __createRequire(import.meta.url);"
  },
  // Less source to read, decode and parse at start-up (~8% of it); identifiers stay readable in stack traces.
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: "none",
  logLevel: "warning"
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Chunk names carry a content hash: an earlier build's chunks would otherwise stay and be packed.
  await rm("dist", { recursive: true, force: true })
  await build(buildOptions)
  await chmod("dist/index.js", 0o755)
}
