/**
 * How search results are ordered: BM25's term-frequency saturation and length normalization (k1 = 1.2,
 * b = 0.75, FTS5's defaults), over the newest matches only. Every match contains every word of the query
 * (they are ANDed), so bm25's other factor, each word's inverse document frequency, only weighs repeats of
 * a rarer word against repeats of a commoner one; computing it means counting every stored message that
 * contains the word (2.5 ms for a word in 100k messages on a slow day, and growing with the store), while
 * this costs the same for any store: ~1 µs per message of the window. The words weigh the same here.
 */

const K1 = 1.2
const B = 0.75

/**
 * Words as FTS5's default tokenizer (unicode61, remove_diacritics 1) cuts them: runs of letters, digits and
 * private-use characters, case folded, diacritics removed from Latin letters only (й, ガ stay as they are).
 * Symbols such as ™ or № separate words, as there.
 */
export const words = (text: string): ReadonlyArray<string> =>
  // Most texts are ASCII: no accents to fold, and letters and digits are [a-z0-9] (3x cheaper, 500 at a time).
  (ASCII.test(text)
    ? text.toLowerCase().split(/[^a-z0-9]+/)
    : text.normalize("NFD").replace(LATIN_DIACRITICS, "$1").normalize("NFC").toLowerCase().split(/[^\p{L}\p{N}\p{Co}]+/u))
    .filter((w) => w.length > 0)

const ASCII = /^[\x00-\x7f]*$/
const LATIN_DIACRITICS = /(\p{Script=Latin})[\u0300-\u036f]+/gu

/** How often `phrase` (consecutive words) occurs in `text`. */
const occurrences = (text: ReadonlyArray<string>, phrase: ReadonlyArray<string>) => {
  if (phrase.length === 0) return 0
  let count = 0
  for (let i = 0; i + phrase.length <= text.length; i++) {
    let j = 0
    while (j < phrase.length && text[i + j] === phrase[j]) j++
    if (j === phrase.length) count++
  }
  return count
}

/**
 * `documents` best first for the query `terms` (each a word or phrase, as quoted for FTS5). Documents that
 * score the same keep their order (the newest first, as the search reads them).
 */
export const bestFirst = <D extends { readonly body: string }>(terms: ReadonlyArray<string>, documents: ReadonlyArray<D>): Array<D> => {
  const phrases = terms.map(words)
  const texts = documents.map((d) => words(d.body))
  const averageLength = texts.reduce((n, t) => n + t.length, 0) / Math.max(1, texts.length) || 1
  const scores = texts.map((text) => {
    const norm = K1 * (1 - B + (B * text.length) / averageLength)
    return phrases.reduce((score, phrase) => {
      const tf = occurrences(text, phrase)
      return score + (tf * (K1 + 1)) / (tf + norm)
    }, 0)
  })
  return documents.map((document, i) => ({ document, score: scores[i]! }))
    .sort((a, b) => b.score - a.score)
    .map(({ document }) => document)
}
