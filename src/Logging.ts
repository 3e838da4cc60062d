import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { type LogLevelName, toLogLevel } from "./Config.js"

/**
 * logfmt lines on stderr: stdout is the MCP channel and must carry nothing but JSON-RPC. (main.ts also
 * turns off runMain's pretty logger, which writes to stdout.)
 */
export const loggingLayer = (level: LogLevelName) =>
  Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)),
    Logger.minimumLogLevel(toLogLevel(level))
  )
