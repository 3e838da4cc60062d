/**
 * The built server on PostgreSQL, as an operator meets it: `check` and /healthz name the server and the
 * migrations without credentials, start-up failures name host and database but never the password, a new
 * database is migrated by its first replica under an application role (no superuser), and
 * `migrate-to-postgres` brings a SQLite database's history over, again safely.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest"
import { Services } from "../../src/App.js"
import { AppConfig } from "../../src/config/AppConfig.js"
import { Conversations } from "../../src/messaging/Conversations.js"
import { Ingest } from "../../src/messaging/Ingest.js"
import { Replies } from "../../src/messaging/Replies.js"
import { Sending } from "../../src/messaging/Sending.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { adminQuery, withDatabase } from "../support/pgAdmin.js"
import { freePort } from "../support/ports.js"
import { type Env, exitWithin, serverEnv, spawnServer, stopAll, tempDir } from "../support/ServerProcess.js"
import { testConfig, TestLayer } from "../support/TestLayer.js"
import { alice, bob, messageSid, ours } from "../unit/support.js"

const PASSWORD = "pw-7Hq2-not-in-any-output"
const ROLE = `twilio_app_${process.pid}`

let dir: string
let env: Env
/** A database of its own, owned by an application role with a password, empty until a server migrates it. */
let appUrl: string
let database: string

beforeAll(async () => {
  dir = tempDir()
  const { adminUrl } = inject("postgres")
  database = `cli_${process.pid}_${Date.now()}`
  await adminQuery(adminUrl, `CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`)
  await adminQuery(adminUrl, `CREATE DATABASE ${database} OWNER ${ROLE} TEMPLATE template0`)
  const url = new URL(withDatabase(adminUrl, database))
  url.username = ROLE
  url.password = PASSWORD
  appUrl = url.toString()
  env = {
    ...serverEnv({ twilioUrl: `http://127.0.0.1:${await freePort()}`, webhookPort: await freePort(), databasePath: path.join(dir, "twilio.db") }),
    DATABASE_URL: appUrl
  }
})
afterEach(() => stopAll())
afterAll(async () => {
  const { adminUrl } = inject("postgres")
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await adminQuery(adminUrl, `DROP ROLE IF EXISTS ${ROLE}`)
  fs.rmSync(dir, { recursive: true, force: true })
})

const everything = (server: { stdout: { text: () => string }; stderr: { text: () => string } }) => server.stdout.text() + server.stderr.text()

describe("the server on PostgreSQL", () => {
  it("two replicas started together on a new database: one migrates, both serve; /healthz names the engine, not the server", async () => {
    const other = { ...env, WEBHOOK_PORT: String(await freePort()) }
    const replicas = [spawnServer(env, ["webhooks"], dir), spawnServer(other, ["webhooks"], dir)]
    await Promise.all(replicas.map((r) => r.stderr.waitForLine(/webhooks listening/)))
    for (const port of [env.WEBHOOK_PORT, other.WEBHOOK_PORT]) {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`)
      const body = await response.json()
      expect(body).toMatchObject({ status: "ok", database: "ok", storage: { engine: "postgresql", migration: "0008_inbound_fetch" } })
      expect(JSON.stringify(body)).not.toContain(database)
    }
    for (const replica of replicas) {
      replica.child.kill("SIGTERM")
      expect(await exitWithin(replica)).toEqual({ code: 0, signal: null })
      expect(everything(replica)).not.toContain(PASSWORD)
    }
  })

  it("`check` reports PostgreSQL's version, where it is and its migrations, without the password", async () => {
    const server = spawnServer(env, ["check"], dir)
    await exitWithin(server)
    expect(server.stdout.text()).toMatch(
      new RegExp(`^ok {3}database: PostgreSQL \\d+\\.\\d+\\S* at 127\\.0\\.0\\.1:\\d+/${database} is writable \\(migrations up to 0008_inbound_fetch\\)$`, "m")
    )
    expect(everything(server)).not.toContain(PASSWORD)
    expect(everything(server)).not.toContain(ROLE)
  })

  it.each([
    ["a wrong password", () => appUrl.replace(PASSWORD, `${PASSWORD}-wrong`), /password authentication failed/],
    ["a server that is not there", async () => `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${await freePort()}/${database}`, /ECONNREFUSED/]
  ])("%s: exit 1, one line naming host and database, never the password", async (_, url, reason) => {
    const server = spawnServer({ ...env, DATABASE_URL: await url() }, ["webhooks"], dir)
    expect(await exitWithin(server)).toEqual({ code: 1, signal: null })
    expect(server.stderr.text()).toMatch(new RegExp(`^twilio-mcp: Local storage failed during open database: PostgreSQL at 127\\.0\\.0\\.1:\\d+/${database}: `, "m"))
    expect(server.stderr.text()).toMatch(reason)
    expect(everything(server)).not.toContain(PASSWORD)
  })
})

describe("migrate-to-postgres", () => {
  it("copies a SQLite database's threads, messages, statuses, opt-outs, keys and read markers; a second run adds nothing", async () => {
    const sqlite = path.join(dir, "history.db")
    // History made by the server itself on SQLite.
    const made = await Effect.runPromise(Effect.gen(function*() {
      const sending = yield* Sending
      const ingest = yield* Ingest
      const replies = yield* Replies
      const conversations = yield* Conversations
      const sent = yield* sending.send({ to: alice, message: "Your parcel ships today", idempotencyKey: "order-7" })
      yield* ingest.status({ sid: sent.messageSid, status: "delivered", at: new Date().toISOString() })
      yield* ingest.inbound({ sid: messageSid(1), from: alice as never, to: ours as never, body: "Thanks, café at noon?", media: [], extra: {} })
      // Shown to a model: read (migration 0006's marker).
      expect((yield* replies.awaitReply({ conversationId: sent.conversationId!, timeoutSeconds: 1 }, () => Effect.void)).messages).toHaveLength(1)
      yield* ingest.inbound({ sid: messageSid(2), from: bob as never, to: ours as never, body: "STOP", media: [], extra: {} })
      yield* conversations.createConversation([alice, bob], { topic: "group" })
      return sent
    }).pipe(
      Effect.provide(Services.pipe(
        Layer.provideMerge(TwilioMemory.layer),
        Layer.provideMerge(AppConfig.layer(testConfig({ databasePath: sqlite, databaseUrl: undefined })))
      ))
    ))

    const target = `${appUrl.replace(`/${database}`, `/${database}_migrated`)}`
    const { adminUrl } = inject("postgres")
    await adminQuery(adminUrl, `CREATE DATABASE ${database}_migrated OWNER ${ROLE} TEMPLATE template0`)
    try {
      const run = async () => {
        const server = spawnServer({ ...env, DATABASE_PATH: sqlite, DATABASE_URL: target }, ["migrate-to-postgres"], dir)
        expect(await exitWithin(server, 30_000), server.stderr.text()).toEqual({ code: 0, signal: null })
        expect(everything(server)).not.toContain(PASSWORD)
        return server.stdout.text()
      }
      const first = await run()
      expect(first).toContain(`copying ${sqlite} into PostgreSQL at 127.0.0.1:`)
      expect(first).toMatch(/^conversations: 3 read, 3 new$/m)
      expect(first).toMatch(/^messages: 3 read, 3 new$/m)
      expect(first).toMatch(/^message_events: 1 read, 1 new$/m)
      expect(first).toMatch(/^opt_outs: 1 read, 1 new$/m)
      expect(first).toMatch(/^send_keys: 1 read, 1 new$/m)
      expect(first).toMatch(/^read_markers: 1 read, 1 new$/m)
      expect(first).toMatch(/^send_log: 1 read, 1 new$/m)
      const second = await run()
      for (const table of ["conversations", "messages", "message_events", "opt_outs", "send_keys", "read_markers", "send_log"]) {
        expect(second).toMatch(new RegExp(`^${table}: \\d+ read, 0 new$`, "m"))
      }

      // The copy, through the server's own services on PostgreSQL.
      await Effect.runPromise(Effect.gen(function*() {
        const conversations = yield* Conversations
        const sending = yield* Sending
        const ingest = yield* Ingest
        const replies = yield* Replies
        // What a model was shown on SQLite stays read (before the thread is read here, which marks it too).
        expect((yield* conversations.conversations({ limit: 10 })).conversations.find((c) => c.conversationId === made.conversationId)).toMatchObject({ unread: 0 })
        const status = yield* conversations.thread({ conversationId: made.conversationId as never, includeContext: false, limit: 10 })
        expect(status.messages.map((x: { body: string }) => x.body)).toEqual(["Your parcel ships today", "Thanks, café at noon?"])
        expect(status.messages[0]).toMatchObject({ status: "delivered" })
        expect((yield* conversations.search({ query: "cafe", limit: 10 })).messages.map((x) => x.body)).toEqual(["Thanks, café at noon?"])
        expect(yield* Effect.flip(sending.send({ to: bob, message: "hello?" }))).toMatchObject({ _tag: "OptedOut" })
        expect(yield* sending.send({ to: alice, message: "Your parcel ships today", idempotencyKey: "order-7" })).toMatchObject({ messageSid: made.messageSid, replayed: true })
        // New messages take ids after the copied ones.
        yield* ingest.inbound({ sid: messageSid(3), from: alice as never, to: ours as never, body: "one more", media: [], extra: {} })
        const inbound = yield* replies.inbound({ from: alice, limit: 10 })
        expect(inbound.messages.map((x) => x.body)).toEqual(["one more", "Thanks, café at noon?"])
      }).pipe(Effect.provide(TestLayer({ databaseUrl: Redacted.make(target) }))))
    } finally {
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${database}_migrated WITH (FORCE)`)
    }
  })

  it("refuses without DATABASE_URL, or without the SQLite file, and changes nothing", async () => {
    const { DATABASE_URL: _, ...sqliteOnly } = env
    const noUrl = spawnServer(sqliteOnly, ["migrate-to-postgres"], dir)
    expect(await exitWithin(noUrl)).toEqual({ code: 1, signal: null })
    expect(noUrl.stderr.text()).toContain("set DATABASE_URL")
    const noFile = spawnServer({ ...env, DATABASE_PATH: path.join(dir, "missing.db") }, ["migrate-to-postgres"], dir)
    expect(await exitWithin(noFile)).toEqual({ code: 1, signal: null })
    expect(noFile.stderr.text()).toContain("does not exist: nothing to copy")
    expect(fs.existsSync(path.join(dir, "missing.db"))).toBe(false)
  })
})
