import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import * as util from "node:util"
import type { AppConfigShape } from "./AppConfig.js"
import { currentLocation, dataFolder, isInstalledPackage, type Location } from "./Install.js"
import { sandboxSwitch, settings } from "./Settings.js"

// The configuration from its sources: the environment, then `.env` in the working directory, then `.env` in the
// data folder; every problem reported at once.

export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  problems: Schema.Array(Schema.String),
  /** The `.env` files read, each with where it is ("/.env (working directory)"), the first winning over the second. */
  dotEnvFiles: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Environment validation failed:\n${this.problems.map((p) => `  - ${p}`).join("\n")}\n` +
      `Set these variables in the MCP client's "env" block or in a .env file (see .env.example): ` +
      `${this.dotEnvFiles.join(" or ")}. The environment wins over .env files` +
      `${this.dotEnvFiles.length > 1 ? ", and the first file over the second" : ""}. ` +
      "Or run with --sandbox (or TWILIO_MCP_SANDBOX=true) to try the server without a Twilio account."
  }
}

/** One line per problem, each starting with the variable's name; a variable missing from every source once. */
const problemsOf = (error: ConfigError.ConfigError): ReadonlyArray<string> => {
  switch (error._op) {
    case "And":
      return [...problemsOf(error.left), ...problemsOf(error.right)]
    case "Or":
      return problemsOf(error.left)
    case "MissingData":
      return [`${error.path.join("_")} is required`]
    default:
      return [`${error.path.join("_")} ${error.message}`]
  }
}

/** A `.env` file as a provider; a missing one provides nothing, an unreadable one is a problem to report. */
const dotEnv = (file: string) =>
  Effect.try({
    try: () => {
      const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
      // Node's parser: values are taken as written (no `$VAR` expansion that would alter a secret).
      return ConfigProvider.fromMap(new Map(Object.entries(util.parseEnv(text) as Record<string, string>)))
    },
    catch: (cause) => `${file} cannot be read (${(cause as Error).message})`
  })

const resolve = (
  environment: ConfigProvider.ConfigProvider,
  options: { readonly sandbox: boolean; readonly location: Location; readonly readDotEnv: boolean }
): Effect.Effect<AppConfigShape, ConfigInvalid> =>
  Effect.gen(function*() {
    const folder = yield* Effect.orDie(environment.load(dataFolder(options.location)))
    const folderName = isInstalledPackage(options.location) ? "data folder" : "project folder"
    const dotEnvFiles = options.location.cwd === folder
      ? [{ file: path.join(folder, ".env"), where: `working directory and ${folderName}` }]
      : [{ file: path.join(options.location.cwd, ".env"), where: "working directory" }, { file: path.join(folder, ".env"), where: folderName }]
    const sources = options.readDotEnv ? yield* Effect.forEach(dotEnvFiles, ({ file }) => Effect.either(dotEnv(file))) : []
    const provider = sources.reduce(
      (provider, source) => Either.isRight(source) ? ConfigProvider.orElse(provider, () => source.right) : provider,
      environment
    )
    const switched = yield* Effect.either(provider.load(sandboxSwitch))
    const sandbox = options.sandbox || Either.getOrElse(switched, () => false)
    const loaded = yield* Effect.either(provider.load(settings(sandbox, options.location, folder)))
    const problems = [
      ...sources.flatMap((source) => Either.isLeft(source) ? [source.left] : []),
      ...Either.isLeft(switched) ? problemsOf(switched.left) : [],
      ...Either.isLeft(loaded) ? problemsOf(loaded.left) : []
    ]
    if (Either.isLeft(loaded) || problems.length > 0) {
      return yield* new ConfigInvalid({
        problems: Array.from(new Set(problems)),
        dotEnvFiles: dotEnvFiles.map(({ file, where }) => `${file} (${where})`)
      })
    }
    return loaded.right
  })

/**
 * The configuration from the process: the environment wins, then `.env` in the working directory, then `.env`
 * in the data folder (the project folder from a checkout: Claude Desktop starts servers in `/`).
 */
export const loadConfig = (options: { readonly sandbox: boolean; readonly location?: Location }) =>
  Effect.suspend(() =>
    resolve(ConfigProvider.fromEnv(), { sandbox: options.sandbox, location: options.location ?? currentLocation(), readDotEnv: true })
  )

/** The configuration from `env` alone (no `.env` files): what tests and embedders use. */
export const parseConfig = (
  env: Record<string, string | undefined>,
  options: { readonly sandbox: boolean; readonly location?: Location }
): Either.Either<AppConfigShape, ConfigInvalid> =>
  Effect.runSync(Effect.either(resolve(
    ConfigProvider.fromMap(new Map(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))),
    { sandbox: options.sandbox, location: options.location ?? currentLocation(), readDotEnv: false }
  )))
