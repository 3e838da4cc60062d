import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { type LogLevelName, toLogLevel } from "./Config.js"

/** logfmt lines on stderr: stdout is the MCP channel and must carry nothing but JSON-RPC. */
export const loggingLayer = (level: LogLevelName) =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)),
    Logger.minimumLogLevel(toLogLevel(level))
  )
