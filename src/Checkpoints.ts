import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"

/**
 * How often the worker looks at the WAL (a look with nothing to copy reads the WAL index): while writes
 * arrive, and once QUIET_LOOKS looks in a row found none.
 */
const BUSY_EVERY_MS = 50
const IDLE_EVERY_MS = 1_000
const QUIET_LOOKS = 20
/** WAL frames not yet copied below which the worker asks for the short pause that lets the WAL restart. */
const NEARLY_CAUGHT_UP = 256
/** The WAL length (frames of one page each, 2 or 4 KB) from which restarting it is worth a pause. */
const RESTART_FROM = 1_000
/** The longest the writes wait for the worker's final pass (it takes a few ms). */
const MAX_PAUSE_MS = 100

/**
 * The worker: a connection of its own to the same file. A PASSIVE checkpoint copies committed WAL frames
 * into the database (and fsyncs it) without waiting for anyone, so writes go on meanwhile, but under
 * steady writes it never quite catches up, and SQLite restarts the WAL only when a writer finds it fully
 * copied. So once the copy is nearly done the worker asks the main thread to pause its writes, finishes
 * (a few hundred frames), and says so: the next write restarts the WAL. CommonJS, evaluated as is.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads")
const Database = require(workerData.driver)
const db = new Database(workerData.filename)
const passive = () => {
  try {
    return db.pragma("wal_checkpoint(PASSIVE)")[0]
  } catch {
    return undefined
  }
}
let lastLog = -1
let quietLooks = 0
const pass = () => {
  const wal = passive()
  if (wal === undefined || wal.log < workerData.restartFrom) {
    quietLooks = wal !== undefined && wal.log === lastLog ? quietLooks + 1 : 0
    lastLog = wal?.log ?? -1
    return setTimeout(pass, quietLooks >= workerData.quietLooks ? workerData.idleEveryMs : workerData.busyEveryMs)
  }
  if (wal.log - wal.checkpointed > workerData.nearlyCaughtUp) return setImmediate(pass)
  parentPort.postMessage("pause")
}
parentPort.on("message", () => {
  passive()
  parentPort.postMessage("done")
  setTimeout(pass, workerData.busyEveryMs)
})
pass()
`

/**
 * Checkpoints on a worker thread, so that the webhook path does not stall on them: SQLite's automatic
 * checkpoint runs in the committing connection, on the event loop, and copying and fsyncing a few MB takes
 * 10–50 ms under load (the p99). `pause` runs the given callback while no write of this process can start
 * (it holds the connection's turn) and resumes writes when it calls back. The connection's own automatic
 * checkpoint stays, set high, for when the worker cannot run. Started by the first batched write (a
 * webhook, a search catching up its index, a status written back), so a process that has only read and
 * waited has no thread.
 */
export const startCheckpointWorker = (filename: string, pause: (whilePaused: (resume: () => void) => void) => void) => {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver: createRequire(import.meta.url).resolve("better-sqlite3"),
      filename,
      busyEveryMs: BUSY_EVERY_MS,
      idleEveryMs: IDLE_EVERY_MS,
      quietLooks: QUIET_LOOKS,
      nearlyCaughtUp: NEARLY_CAUGHT_UP,
      restartFrom: RESTART_FROM
    }
  })
  worker.on("message", (message) => {
    if (message !== "pause") return
    pause((resume) => {
      const done = () => {
        clearTimeout(timer)
        worker.off("message", onDone)
        resume()
      }
      const onDone = (reply: unknown) => reply === "done" && done()
      const timer = setTimeout(done, MAX_PAUSE_MS)
      worker.on("message", onDone)
      worker.postMessage("paused")
    })
  })
  // A worker that cannot open the file (or dies) leaves checkpoints to SQLite: not an error for the server.
  worker.on("error", () => {})
  worker.unref()
  return worker
}
