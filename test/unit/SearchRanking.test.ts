import { describe, expect, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { bestFirst, words } from "../../src/domain/SearchRanking.js"

const bodies = (docs: ReadonlyArray<{ readonly body: string }>) => docs.map((d) => d.body)

describe("search ranking", () => {
  it("cuts words as FTS5's unicode61 tokenizer does: letters and digits, case and accents folded", () => {
    expect(words("Café-au-lait, ORDER #A17… ¿Qué?")).toEqual(["cafe", "au", "lait", "order", "a17", "que"])
    expect(words("  ***  ")).toEqual([])
    // Symbols are separators (no compatibility folding: ™ is not "tm"); only Latin letters lose accents.
    expect(words("Acme™ order №5")).toEqual(["acme", "order", "5"])
    expect(words("Йогурт ガム Ésta")).toEqual(["йогурт", "ガム", "esta"])
  })

  it("agrees with FTS5's own tokens on mixed text", () => {
    const db = new Database(":memory:")
    db.exec("CREATE VIRTUAL TABLE t USING fts5 (body); CREATE VIRTUAL TABLE v USING fts5vocab (t, instance)")
    const texts = [
      "Your Acme™ order №5 shipped — ETA: 3pm (café, naïve, Ångström)",
      "Йогурт и ГАМ ガム; 订单 12345 已发货; مرحبا بك",
      "order-7/ref#A1B2 x_y 1.5 e-mail user@example.com",
      "\u{E000}private\u{E001} emoji 🍕 pizza"
    ]
    const insert = db.prepare("INSERT INTO t (rowid, body) VALUES (?, ?)")
    texts.forEach((text, i) => insert.run(i + 1, text))
    const tokens = db.prepare("SELECT term FROM v WHERE doc = ? ORDER BY offset").pluck()
    texts.forEach((text, i) => expect(words(text)).toEqual(tokens.all(i + 1)))
    db.close()
  })

  it("a repeated word counts, with diminishing returns; a longer message counts less", () => {
    const ranked = bestFirst(["pizza"], [
      { body: "pizza" },
      { body: "pizza pizza pizza, more pizza" },
      { body: "we could maybe order a pizza tonight if everyone agrees to it" }
    ])
    expect(bodies(ranked)).toEqual([
      "pizza pizza pizza, more pizza",
      "pizza",
      "we could maybe order a pizza tonight if everyone agrees to it"
    ])
  })

  it("a quoted phrase counts where its words follow each other; equal scores keep their order", () => {
    const docs = [{ body: "order 7 arrived" }, { body: "7 order arrived" }, { body: "order-7 arrived" }]
    expect(bodies(bestFirst(["order-7"], docs))).toEqual(["order 7 arrived", "order-7 arrived", "7 order arrived"])
    expect(bodies(bestFirst(["arrived"], docs))).toEqual(bodies(docs))
  })
})
