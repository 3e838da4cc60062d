import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AppConfig } from "../config/AppConfig.js"
import { sqliteLayer } from "./Sqlite.js"

/**
 * The database of the configuration: PostgreSQL when DATABASE_URL is set, else SQLite at DATABASE_PATH. The
 * PostgreSQL client is loaded only then: SQLite's start-up does not pay for it.
 */
export const SqlLive = Layer.unwrapEffect(Effect.map(AppConfig, (config) =>
  config.databaseUrl === undefined
    ? sqliteLayer(config.databasePath)
    : Layer.unwrapEffect(Effect.map(Effect.promise(() => import("./Postgres.js")), (pg) => pg.postgresLayer(config.databaseUrl!)))))
