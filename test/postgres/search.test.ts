/**
 * search_messages on PostgreSQL (migration 0002's tsvector column): the same words as SQLite's FTS5 unicode61
 * and SearchRanking, matched without an indexing step, never an error on user text.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { words } from "../../src/domain/SearchRanking.js"
import { TestLayer } from "../support/TestLayer.js"
import { callOk, inbound } from "../agent/support.js"
import { alice, messageSid, ours } from "../unit/support.js"

const lexemes = (text: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ lexeme: string }>`SELECT DISTINCT lexeme FROM unnest(to_tsvector('simple', messages_search_text(${text}))) ORDER BY 1`,
      (rows) => rows.map((r) => r.lexeme)
    ))

const wordSet = (text: string) => Array.from(new Set(words(text))).sort()

const search = (query: string) => Effect.map(callOk("search_messages", { query }), (r) => r.messages.map((m: any) => m.body as string))

const samples = [
  "Sure, noon works!",
  "e-mail bob@example.com or visit https://example.com/page?x=1#top",
  "Café au lait, crème brûlée, naïve façade, Ångström, Łódź, Dvořák",
  "don't won't l'été it's",
  "v1.2.3 costs $1,000.50 (50%) — 7th_floor",
  "Йод ЁЖ Ελληνικά 日本語テキスト 한국어",
  "snake_case camelCase kebab-case dot.case path/to/file.txt",
  "emoji 🎉 between 🎉words",
  "<b>bold</b> & \"quoted\" 'single' [x] {y} |z| ~a~ ^b^ `c`"
]

describe("PostgreSQL's search words are SearchRanking's (unicode61's) words", () => {
  it.effect.each(samples)("%j", (text) =>
    Effect.gen(function*() {
      expect(yield* lexemes(text)).toEqual(wordSet(text))
    }).pipe(Effect.provide(TestLayer())))

  it.effect("for random texts of letters, digits, accents and ASCII punctuation", () =>
    Effect.gen(function*() {
      const alphabet = "abcXYZ019 éÉüñçØåłř .,;:!?-_'\"@#$%&*()[]{}<>/\\|+=~^`".split("")
      const texts = FastCheck.sample(FastCheck.array(FastCheck.constantFrom(...alphabet), { maxLength: 40 }).map((cs) => cs.join("")), 200)
      for (const text of texts) expect(yield* lexemes(text), JSON.stringify(text)).toEqual(wordSet(text))
    }).pipe(Effect.provide(TestLayer())))
})

describe("search_messages on PostgreSQL", () => {
  it.effect("finds rows however they were written (no indexing step), follows edits and deletes", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`
        INSERT INTO messages (sid, direction, from_address, to_address, body, status, status_rank, created_at, updated_at)
        VALUES (${messageSid(1)}, 'inbound', ${alice}, ${ours}, 'parcel number one', 'received', 4, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`
      expect(yield* search("parcel")).toEqual(["parcel number one"])
      yield* sql`UPDATE messages SET body = 'letter number one' WHERE sid = ${messageSid(1)}`
      expect(yield* search("parcel")).toEqual([])
      expect(yield* search("letter")).toEqual(["letter number one"])
      yield* sql`DELETE FROM messages WHERE sid = ${messageSid(1)}`
      expect(yield* search("letter")).toEqual([])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("words, not operators: OR, a leading minus, quotes and punctuation are text", () =>
    Effect.gen(function*() {
      yield* inbound(alice, "Sure, noon works")
      yield* inbound(alice, "midnight then")
      yield* inbound(alice, "write to bob@example.com about the e-mail")
      expect(yield* search("noon OR midnight")).toEqual([])
      expect(yield* search("-noon")).toEqual(["Sure, noon works"])
      expect(yield* search("\"noon works\"")).toEqual(["Sure, noon works"])
      expect(yield* search("EXAMPLE")).toEqual(["write to bob@example.com about the e-mail"])
      expect(yield* search("mail bob")).toEqual(["write to bob@example.com about the e-mail"])
      // Quotes are text too: terms are cut at whitespace, as on SQLite.
      expect(yield* search("\"works noon\"")).toEqual(["Sure, noon works"])
    }).pipe(Effect.provide(TestLayer())))
})
