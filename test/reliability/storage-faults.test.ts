/**
 * Storage faults. A DATABASE_PATH that cannot be used stops the built server at start-up with exit code 1
 * and one line naming the path (tests run as root, which ignores permission bits, so the paths are made
 * unusable by their shape instead). A full database (PRAGMA max_page_count) makes webhooks answer 503 and
 * tools return isError while the server keeps serving, and everything works again once space returns.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach } from "vitest"
import * as Bridge from "../../src/mcp/Bridge.js"
import { tools } from "../../src/mcp/tools/index.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { freePort } from "../support/ports.js"
import { exitWithin, serverEnv, spawnServer, stopAll, tempDir } from "../support/ServerProcess.js"
import { alice, bob } from "../unit/support.js"
import { countRows, expectRefused, expectTwiml, inboundParams, postInbound, postStatus, request, sid, statusParams, withServer } from "../webhooks/harness.js"
import { textOf } from "./support.js"

const dir = tempDir()
afterEach(() => stopAll())
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("an unusable DATABASE_PATH stops start-up: exit 1, one line on stderr naming the path", () => {
  const regularFile = path.join(dir, "file.txt")
  fs.writeFileSync(regularFile, "a regular file, not a directory\n")
  const notADatabase = path.join(dir, "notes.txt")
  fs.writeFileSync(notADatabase, "plain text that SQLite cannot read as a database\n".repeat(20))

  const paths = [
    { name: "a path under a regular file", databasePath: path.join(regularFile, "db.sqlite"), reason: /is not writable/ },
    { name: "a directory", databasePath: dir, reason: /cannot be opened as a SQLite database/ },
    { name: "a file that is not a database", databasePath: notADatabase, reason: /cannot be opened as a SQLite database \(file is not a database\)/ },
    { name: "a path in /proc", databasePath: "/proc/self/db.sqlite", reason: /not writable|cannot be opened/ },
    // Node's mkdirSync(…, { recursive: true }) loops forever on this one, at 100 % CPU.
    { name: "a missing folder under /proc", databasePath: "/proc/twilio-mcp-missing/db.sqlite", reason: /is not writable/ }
  ]
  const cases = paths.flatMap((p) => [{ ...p, mode: "webhooks" }, { ...p, mode: "MCP (default)" }])

  it.each(cases)("$name, $mode", async ({ databasePath, mode, reason }) => {
    const env = serverEnv({ twilioUrl: `http://127.0.0.1:${await freePort()}`, webhookPort: await freePort(), databasePath })
    const server = spawnServer(env, mode === "webhooks" ? ["webhooks"] : [], dir)
    // Within a couple of seconds, whatever the path.
    expect(await exitWithin(server, 3_000)).toEqual({ code: 1, signal: null })
    const stderr = server.stderr.text()
    expect(stderr).toMatch(new RegExp(`^twilio-mcp: Local storage failed during open database: DATABASE_PATH ${databasePath} `, "m"))
    expect(stderr).toMatch(reason)
    expect(stderr).toMatch(/Point DATABASE_PATH at a writable file/)
    expect(stderr).not.toMatch(/\n\s+at /)
    expect(server.stdout.text()).toBe("")
  })
})

/** Runs raw SQL on the server's own connection: how the test takes the space away and gives it back. */
const pragma = (statement: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<Record<string, number>>(statement)).pipe(
    Effect.map((rows) => Object.values(rows[0] ?? {})[0])
  )

/** Compacts the file (no free pages left to reuse), then caps it at that size: no page can be added. */
const fillUp = pragma("VACUUM").pipe(
  Effect.zipRight(pragma("PRAGMA page_count")),
  Effect.tap((pages) => pragma(`PRAGMA max_page_count = ${pages}`)),
  Effect.tap(() => Effect.map(pragma("PRAGMA freelist_count"), (free) => expect(free).toBe(0)))
)
const makeRoom = pragma("PRAGMA max_page_count = 1073741823")

/** 1600 characters (the SMS limit) of 3-byte UTF-8: 4,800 bytes, more than a 4 KiB page, so storing it needs new pages. */
const bigBody = "漢".repeat(1600)

const call = (name: string, args: Record<string, unknown>) => Bridge.callTool(tools, name, args)
/** A conversation whose metadata needs pages of its own. */
const createBigConversation = call("create_conversation", { participants: [alice, bob], metadata: { notes: "x".repeat(10_000) } })
const totals = Effect.all([countRows("messages"), countRows("conversations"), countRows("message_events")])

describe("a full database", () => {
  /** The webhook server and services on a database file of their own. */
  const onFile = (name: string) => withServer({ databasePath: path.join(dir, `${name}.db`) })

  it.live("webhooks answer 503 and store nothing, tools return isError, the server keeps serving, and it recovers", () =>
    Effect.gen(function*() {
      expectTwiml(yield* postInbound(inboundParams(sid(1), { Body: "before the disk filled" })))
      const pages = yield* fillUp
      expect(yield* pragma("PRAGMA max_page_count")).toBe(pages)
      const before = yield* totals

      expectRefused(yield* postInbound(inboundParams(sid(2), { Body: bigBody })), 503)
      const refused = yield* createBigConversation
      expect(refused.isError).toBe(true)
      expect(textOf(refused)).toMatch(/^Local storage failed during /)
      expect(yield* totals).toEqual(before)

      // Still up: health and reads answer while writes cannot.
      expect((yield* request("/healthz")).status).toBe(200)
      expect((yield* call("get_inbound_messages", { limit: 5 })).structuredContent).toMatchObject({ totalCount: 1 })

      yield* makeRoom
      expectTwiml(yield* postInbound(inboundParams(sid(2), { Body: bigBody })))
      expect((yield* createBigConversation).isError).toBeFalsy()
      expect(yield* countRows("messages")).toBe(2)
    }).pipe(onFile("full")))

  it.live("small writes that still fit are stored and acknowledged; whatever gets 503 is not stored", () =>
    Effect.gen(function*() {
      yield* fillUp
      // Bounded: each message takes room, so 503s start within a few pages' worth.
      for (let n = 10; n < 300; n++) {
        const inbound = yield* postInbound(inboundParams(sid(n), { Body: `message ${n} `.repeat(20) }))
        const status = yield* postStatus(statusParams(sid(1000 + n), "delivered"))
        for (const [reply, table, key] of [[inbound, "messages", "sid"], [status, "message_events", "message_sid"]] as const) {
          expect([200, 503]).toContain(reply.status)
          const found = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql(table)} WHERE ${sql(key)} = ${table === "messages" ? sid(n) : sid(1000 + n)}`)
          expect(found[0]!.n).toBe(reply.status === 200 ? 1 : 0)
        }
        if (inbound.status === 503 && status.status === 503) break
      }
      expectRefused(yield* postInbound(inboundParams(sid(999), { Body: bigBody })), 503)
    }).pipe(onFile("fill")))

  // Storage that fails after Twilio accepted (a trigger refusing outbound rows stands in for a disk that fills
  // between the reservation and the insert): the agent must still learn the SID, or it would send again.
  it.live("a message sent but not stored comes back with its messageSid and a warning not to resend", () =>
    Effect.gen(function*() {
      yield* pragma(`CREATE TRIGGER refuse_outbound BEFORE INSERT ON messages WHEN NEW.direction = 'outbound'
        BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
      const result = yield* call("send_sms", { to: alice, message: "sent, then the disk filled" })
      const sent = yield* Effect.flatMap(TwilioMemory, (t) => t.sent)
      expect(sent).toHaveLength(1)
      expect(result.isError).toBeFalsy()
      expect(result.structuredContent).toMatchObject({
        messageSid: sent[0]!.sid,
        conversationId: null,
        warning: "Sent, but not stored locally (database or disk is full). Do not resend; check get_message_status."
      })
      expect(yield* countRows("messages")).toBe(0)
    }).pipe(onFile("sent-not-stored")))

  // Store errors keep SQLite's own reason, so the agent is told the disk is full.
  it.live("a tool failing on a full disk says so", () =>
    Effect.gen(function*() {
      yield* fillUp
      const refused = yield* createBigConversation
      expect(textOf(refused)).toMatch(/database or disk is full/)
    }).pipe(onFile("says-full")))

  // The send is reserved (with room for its body) before Twilio is called: a full database refuses it.
  it.live("send_sms while the database is full: isError, and nothing reaches Twilio", () =>
    Effect.gen(function*() {
      yield* fillUp
      const result = yield* call("send_sms", { to: alice, message: bigBody })
      expect(result.isError).toBe(true)
      expect(yield* Effect.flatMap(TwilioMemory, (t) => t.sent)).toEqual([])
    }).pipe(onFile("send-refused")))
})
