import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * What FTS5's unicode61 tokenizer does that PostgreSQL's parser does not, as one `translate`: Latin letters
 * lose their diacritics (é → e, as remove_diacritics does; SearchRanking folds the same way), and ASCII
 * punctuation separates words (PostgreSQL would keep "e-mail", "bob@example.com" or "example.com/page" as
 * tokens of their own, which a search for "mail" or "example" would then miss). The letters are those of
 * Latin-1 Supplement, Latin Extended-A/B and Latin Extended Additional whose canonical decomposition is one
 * letter plus marks: stable by Unicode's normalization policy, so the function is the same whenever it is made.
 */
const folding = () => {
  const from: Array<string> = []
  const to: Array<string> = []
  for (const [first, last] of [[0xc0, 0x24f], [0x1e00, 0x1eff]] as const) {
    for (let cp = first; cp <= last; cp++) {
      const letter = String.fromCodePoint(cp)
      const base = letter.normalize("NFD").replace(/[\u0300-\u036f]+/g, "")
      if (/^\p{Script=Latin}$/u.test(letter) && base !== letter && base.length === 1) {
        from.push(letter)
        to.push(base)
      }
    }
  }
  for (let cp = 0x21; cp <= 0x7e; cp++) {
    const c = String.fromCodePoint(cp)
    if (!/[A-Za-z0-9]/.test(c)) {
      from.push(c)
      to.push(" ")
    }
  }
  const quoted = (chars: ReadonlyArray<string>) => `'${chars.join("").replaceAll("'", "''")}'`
  return `translate(text, ${quoted(from)}, ${quoted(to)})`
}

/**
 * PostgreSQL's twin of ../0002_agent_features.ts: opt-outs and send idempotency keys as there; full-text
 * search as a tsvector column PostgreSQL computes with each row ('simple' configuration: words case folded,
 * no stemming, as unicode61; plus the folding above) and a GIN index over it. `messages_search_query` makes
 * the query from the search terms the same way, each term a quoted phrase for websearch_to_tsquery, which
 * never fails on user text.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`
    CREATE TABLE opt_outs (
      recipient TEXT COLLATE "C" NOT NULL,
      sender TEXT COLLATE "C" NOT NULL,
      opted_out INTEGER NOT NULL,
      source TEXT NOT NULL,
      updated_at TEXT COLLATE "C" NOT NULL,
      PRIMARY KEY (recipient, sender)
    )`)
  yield* sql.unsafe(`
    CREATE TABLE send_keys (
      key TEXT COLLATE "C" PRIMARY KEY,
      result TEXT,
      created_at TEXT COLLATE "C" NOT NULL
    )`)
  yield* sql.unsafe(`
    CREATE FUNCTION messages_search_text(text text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fold$ SELECT ${folding()} $fold$`)
  yield* sql.unsafe(`
    CREATE FUNCTION messages_search_query(terms jsonb) RETURNS tsquery
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
      SELECT websearch_to_tsquery('simple', COALESCE(string_agg('"' || messages_search_text(term) || '"', ' '), ''))
      FROM jsonb_array_elements_text(terms) AS term
    $$`)
  yield* sql`
    ALTER TABLE messages ADD COLUMN body_search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', messages_search_text(body))) STORED`
  yield* sql`CREATE INDEX messages_body_search ON messages USING gin (body_search)`
  // The planner picks between walking the newest rows (a common word: the newest 500 matches are near) and
  // the GIN index (a rare one) by each word's frequency. A word missing from the column's statistics counts
  // as 0.5 % of rows, so a search for a rare or absent word walked the whole table (~0.5 s on 1M messages);
  // with the statistics holding up to 100,000 words, it is known to be rare.
  yield* sql`ALTER TABLE messages ALTER COLUMN body_search SET STATISTICS 10000`
})
