import { describe, expect, it } from "@effect/vitest"
import { bestFirst, words } from "../../src/SearchRanking.js"

const bodies = (docs: ReadonlyArray<{ readonly body: string }>) => docs.map((d) => d.body)

describe("search ranking", () => {
  it("cuts words as FTS5's unicode61 tokenizer does: letters and digits, case and accents folded", () => {
    expect(words("Café-au-lait, ORDER #A17… ¿Qué?")).toEqual(["cafe", "au", "lait", "order", "a17", "que"])
    expect(words("  ***  ")).toEqual([])
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
