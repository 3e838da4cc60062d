import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { clip } from "../domain/Text.js"
import { type LogLevelName, toLogLevel } from "./AppConfig.js"

/** The longest a logged value gets: no request, however large, can make a log line large. */
const MAX_LOGGED_CHARACTERS = 1_000

const bounded = (value: unknown): unknown => (typeof value === "string" ? clip(value, MAX_LOGGED_CHARACTERS) : value)

/**
 * logfmt lines on stderr: stdout is the MCP channel and must carry nothing but JSON-RPC (main.ts also turns
 * off runMain's pretty logger, which writes to stdout). Every message part and annotation is bounded.
 */
const stderrLogfmt = Logger.withConsoleError(Logger.mapInputOptions(Logger.logfmtLogger, (options) => ({
  ...options,
  message: Array.isArray(options.message) ? options.message.map(bounded) : bounded(options.message)
})))

export const loggingLayer = (level: LogLevelName) =>
  Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, stderrLogfmt),
    Logger.minimumLogLevel(toLogLevel(level))
  )
