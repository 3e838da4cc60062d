import * as Redacted from "effect/Redacted"

/** A PostgreSQL URL as it may be shown: host:port/database, without user, password or parameters. */
export const postgresLocation = (url: Redacted.Redacted<string>) => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.host}${parsed.pathname === "/" ? "" : decodeURIComponent(parsed.pathname)}`
  } catch {
    return "(DATABASE_URL)"
  }
}

/** Where the data is, as it may be shown: the file, or PostgreSQL's host:port/database (no credentials). */
export const databaseLocation = (config: { readonly databasePath: string; readonly databaseUrl: Redacted.Redacted<string> | undefined }) =>
  config.databaseUrl === undefined ? config.databasePath : postgresLocation(config.databaseUrl)
