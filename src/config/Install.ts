import * as Config from "effect/Config"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { PACKAGE_NAME } from "./Version.js"

// Where the server runs from, and so where its data goes.

/** The nearest folder holding package.json, from this module's: the project root, bundled or from source. */
const findProjectRoot = (from: string): string =>
  fs.existsSync(path.join(from, "package.json")) || path.dirname(from) === from ? from : findProjectRoot(path.dirname(from))

export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)))

/** What the default database location depends on; tests give their own. */
export interface Location {
  /** The folder holding package.json: a source checkout, or the installed package. */
  readonly projectRoot: string
  readonly cwd: string
  readonly platform: NodeJS.Platform
  readonly homeDir: string
}

export const currentLocation = (): Location => ({
  projectRoot,
  cwd: process.cwd(),
  platform: process.platform,
  homeDir: os.homedir()
})

/** Installed from the registry (npx cache, global install, a client's extension folder): code inside node_modules. */
export const isInstalledPackage = (location: Location) => location.projectRoot.split(/[\\/]/).includes("node_modules")

/** How a person starts this server from a terminal, wherever it runs from. */
export const commandLine = (location: Location) => {
  if (isInstalledPackage(location)) return `npx -y ${PACKAGE_NAME}`
  const bundle = (location.platform === "win32" ? path.win32 : path.posix).join(location.projectRoot, "dist", "index.js")
  return `node ${/\s/.test(bundle) ? `"${bundle}"` : bundle}`
}

/**
 * The folder relative DATABASE_PATHs, the default databases and the second `.env` belong to. From a checkout,
 * the project folder (`./data/…`). An installed package's folder is replaced on every upgrade and npx cache
 * clean, so there it is the platform's per-user data folder, under the package's name. Read from the
 * environment only: a `.env` cannot move the folder it is read from.
 */
export const dataFolder = (location: Location): Config.Config<string> => {
  if (!isInstalledPackage(location)) return Config.succeed(location.projectRoot)
  const paths = location.platform === "win32" ? path.win32 : path.posix
  /** An absolute path from `name`; anything else is ignored, as the XDG specification says. */
  const absoluteOr = (name: string, fallback: string) =>
    Config.map(Config.option(Config.string(name)), (value) =>
      Option.getOrElse(Option.filter(value, paths.isAbsolute), () => fallback))
  const root = location.platform === "win32"
    ? absoluteOr("APPDATA", paths.join(location.homeDir, "AppData", "Roaming"))
    : location.platform === "darwin"
    ? Config.succeed(paths.join(location.homeDir, "Library", "Application Support"))
    : absoluteOr("XDG_DATA_HOME", paths.join(location.homeDir, ".local", "share"))
  return Config.map(root, (dir) => paths.join(dir, PACKAGE_NAME))
}
