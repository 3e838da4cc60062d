import pg from "pg"
const c = new pg.Client({ connectionString: process.env.URL ?? "postgres://postgres:postgres@127.0.0.1:54400/postgres" })
await c.connect()
for (const q of process.argv.slice(2)) { try { const r = await c.query(q); console.log(JSON.stringify(r.rows)) } catch (e) { console.log("ERR", e.message) } }
await c.end()
