/**
 * Checkpoints on a worker thread (src/Checkpoints.ts): the WAL restarts from its beginning without the
 * connection's own checkpoint (set to 10,000 frames, i.e. 40 MB), which would run on the event loop.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { makeSqlLayer } from "../../src/Database.js"
import * as Sqlite from "../../src/Sqlite.js"
import { tempDatabase } from "./support.js"

/** The WAL header's checkpoint sequence number (bytes 12–15): it moves each time the WAL restarts. */
const walSequence = (filename: string) => {
  const header = Buffer.alloc(16)
  const fd = fs.openSync(`${filename}-wal`, "r")
  try {
    fs.readSync(fd, header, 0, 16, 0)
  } finally {
    fs.closeSync(fd)
  }
  return header.readUInt32BE(12)
}

describe("checkpoints in the background", () => {
  it.scopedLive("after 8 MB of writes (2,000 frames) the WAL restarts, with no checkpoint by the connection itself", () =>
    Effect.gen(function*() {
      const filename = yield* tempDatabase("wal.db")
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const { db, write } = yield* Sqlite.Sqlite
        yield* sql`CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`
        const insert = db.prepare("INSERT INTO blobs (data) VALUES (?)")
        const first = walSequence(filename)
        const chunk = Buffer.alloc(128 * 1024, 7)
        for (let batch = 0; batch < 8; batch++) {
          yield* write("write blobs", () => {
            for (let i = 0; i < 8; i++) insert.run(chunk)
          })
        }
        // The worker copies the WAL, asks for a pause, finishes; the next write restarts the WAL. Bounded
        // in real time (the worker runs on its own clock, here on a machine busy with other tests).
        const deadline = Date.now() + 15_000
        let restarted = false
        while (!restarted && Date.now() < deadline) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
          yield* write("write a row", () => insert.run(Buffer.alloc(10)))
          restarted = walSequence(filename) !== first
        }
        expect(restarted).toBe(true)
        expect((yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM blobs`)[0]!.n).toBeGreaterThan(64)
      }).pipe(Effect.provide(makeSqlLayer(filename)))
    }), 30_000)
})
