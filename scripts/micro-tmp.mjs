import Database from "better-sqlite3"
const db = new Database("/tmp/twilio-mcp-bench-store-1000000.db", { readonly: true })
const q = {
  norank: db.prepare(`SELECT messages_fts.rowid AS id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT 500`),
  rank: db.prepare(`SELECT messages_fts.rowid AS id, messages_fts.rank AS rank FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT 500`),
  full: db.prepare(`SELECT m.* FROM (SELECT messages_fts.rowid AS id, messages_fts.rank AS rank FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT 500) found JOIN messages m ON m.id = found.id ORDER BY found.rank LIMIT 20`),
  ftsonly: db.prepare(`SELECT rowid, rank FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT 500`),
  ftsnorank: db.prepare(`SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT 500`),
  count: db.prepare(`SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?`),
}
for (let round = 0; round < 3; round++) for (const [name, s] of Object.entries(q)) {
  const t0 = performance.now(); for (let i = 0; i < 50; i++) s.all(['"refund"', '"delivery"', '"invoice"', '"payment"'][i % 4])
  console.log(name, ((performance.now() - t0) / 50).toFixed(2), "ms")
}
