/**
 * A database file written by the release before the move to @effect/sql-sqlite-node (migration 0005, made
 * with that release's own use cases: test/fixtures/release-0005.db) opens with today's server, is upgraded
 * in place and keeps every row, and every feature works on it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { Conversations } from "../../src/messaging/Conversations.js"
import { Ingest } from "../../src/messaging/Ingest.js"
import { Replies } from "../../src/messaging/Replies.js"
import { Sending } from "../../src/messaging/Sending.js"
import { migrations } from "../../src/storage/migrations/index.js"
import { TestLayer } from "../support/TestLayer.js"
import { alice, bob, carol, tempDatabase } from "./support.js"

const FIXTURE = fileURLToPath(new URL("../fixtures/release-0005.db", import.meta.url))

const copyOfRelease = Effect.tap(tempDatabase("release.db"), (file) => Effect.sync(() => fs.copyFileSync(FIXTURE, file)))

const count = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.map(sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql(table)}`, ([row]) => row!.n))

describe("a database from the release at migration 0005", () => {
  it.scopedLive("opens, is migrated to the latest version, and keeps every row", () =>
    Effect.gen(function*() {
      const file = yield* copyOfRelease
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const applied = yield* sql<{ name: string }>`SELECT name FROM effect_sql_migrations ORDER BY migration_id`
        expect(applied.map((m) => m.name)).toEqual(Object.keys(migrations).map((key) => key.replace(/^\d+_/, "")))
        expect({
          messages: yield* count("messages"),
          conversations: yield* count("conversations"),
          events: yield* count("message_events"),
          optOuts: yield* count("opt_outs"),
          keys: yield* count("send_keys")
        }).toEqual({ messages: 7, conversations: 5, events: 3, optOuts: 1, keys: 1 })
        const [page] = yield* sql<{ page_size: number }>`PRAGMA page_size`
        expect(page!.page_size).toBe(2048)
      }).pipe(Effect.provide(TestLayer({ databasePath: file })))
    }))

  it.scopedLive("its messages, threads, statuses, opt-outs, keys and search all work", () =>
    Effect.gen(function*() {
      const file = yield* copyOfRelease
      yield* Effect.gen(function*() {
        const replies = yield* Replies
        const conversations = yield* Conversations
        const sending = yield* Sending
        const ingest = yield* Ingest
        const fromAlice = yield* replies.inbound({ from: alice, limit: 10 })
        expect(fromAlice.messages.map((m) => m.body)).toEqual(["one more after indexing", "Yes, 3pm works. Café ☕"])
        const photo = yield* replies.inbound({ from: bob, limit: 10 })
        expect(photo.messages[0]).toMatchObject({ body: "Photo attached", media: [{ url: "https://api.twilio.com/media/1", contentType: "image/jpeg" }] })

        const threads = yield* conversations.conversations({ limit: 10 })
        expect(threads.conversations).toHaveLength(5)
        const withAlice = threads.conversations.find((c) => c.participants.length === 2 && c.participants.includes(alice))!
        const thread = yield* conversations.thread({ conversationId: withAlice.conversationId as never, includeContext: true, limit: 50 })
        expect(thread.messages.map((m) => [m.direction, m.status])).toEqual([
          ["outbound", "delivered"],
          ["inbound", "received"],
          ["inbound", "received"]
        ])

        // The undelivered send keeps its error code; the callback stored before its message still applies.
        const undelivered = (yield* conversations.thread({
          conversationId: threads.conversations.find((c) => c.participants.length === 2 && c.participants.includes(bob))!.conversationId as never,
          includeContext: false,
          limit: 50
        })).messages.find((m) => m.direction === "outbound")!
        expect(undelivered).toMatchObject({ status: "undelivered", errorCode: 30003 })

        // Carol texted STOP: a send to her is refused before Twilio.
        expect((yield* Effect.flip(sending.send({ to: carol, message: "hi" })))._tag).toBe("OptedOut")
        // The idempotency key used then still replays its send.
        const replay = yield* sending.send({ to: alice, message: "Hello Alice, are you free at 3pm?", idempotencyKey: "key-1" })
        expect(replay).toMatchObject({ replayed: true, to: alice })

        // Search covers the indexed rows and the one stored after the last indexing.
        expect((yield* conversations.search({ query: "indexing", limit: 5 })).messages.map((m) => m.body)).toEqual(["one more after indexing"])
        expect((yield* conversations.search({ query: "cafe", limit: 5 })).messages.map((m) => m.body)).toEqual(["Yes, 3pm works. Café ☕"])

        // And new messages join the old threads.
        const reply = yield* ingest.inbound({ sid: `SM${"f".repeat(32)}`, from: alice as never, to: "+15005550006" as never, body: "new", media: [], extra: {} })
        expect(reply.conversationId).toBe(withAlice.conversationId)
      }).pipe(Effect.provide(TestLayer({ databasePath: file })))
    }))
})
