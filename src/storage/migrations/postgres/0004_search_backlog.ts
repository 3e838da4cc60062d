import * as Effect from "effect/Effect"

/**
 * PostgreSQL's twin of ../0004_search_backlog.ts, which moved SQLite's full-text indexing off the webhook path
 * into bulk catch-up. PostgreSQL's tsvector column (0002) is computed with the row and its GIN index takes
 * new entries through a pending list: nothing to change. Kept so both dialects count the same migrations.
 */
export default Effect.void
