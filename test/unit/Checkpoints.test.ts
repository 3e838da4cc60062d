/**
 * Checkpoints on a worker thread (src/Checkpoints.ts): under steady writes the WAL keeps restarting, so it
 * stays far below the 40 MB at which the connection's own checkpoint would stall the event loop.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeSqlLayer } from "../../src/Database.js"
import * as Sqlite from "../../src/Sqlite.js"

const MB = 1024 * 1024

describe("checkpoints in the background", () => {
  it.live("100 MB written at 40 MB/s in 1 MB batches: the WAL file stays under 24 MB (the connection's own checkpoint would let it reach 40), and every row is there", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twilio-mcp-wal-"))
      const filename = path.join(dir, "wal.db")
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const { db, write } = yield* Sqlite.Sqlite
        yield* sql`CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`
        const insert = db.prepare("INSERT INTO blobs (data) VALUES (?)")
        const chunk = Buffer.alloc(MB / 8, 7)
        let largestWal = 0
        for (let batch = 0; batch < 100; batch++) {
          yield* write("write blobs", () => {
            for (let i = 0; i < 8; i++) insert.run(chunk)
          })
          largestWal = Math.max(largestWal, fs.statSync(`${filename}-wal`).size)
          // The worker's messages (pause, done) are handled between batches, as between webhooks.
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 25)))
        }
        expect(largestWal).toBeLessThan(24 * MB)
        expect((yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM blobs`)[0]!.n).toBe(800)
      }).pipe(
        Effect.provide(makeSqlLayer(filename)),
        Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      )
    }), 30_000)
})
