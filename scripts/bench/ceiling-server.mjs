// The raw ceiling for the webhook figures: the least a correct handler does. node:http, the Twilio SDK's
// signature check, one prepared better-sqlite3 statement per webhook in WAL mode. No framework, no
// schema decoding, no threading: what is left of this server's per-request cost is its own.
//   env: PORT, DATABASE_PATH, TWILIO_AUTH_TOKEN, WEBHOOK_BASE_URL
import Database from "better-sqlite3"
import * as http from "node:http"
import webhooks from "twilio/lib/webhooks/webhooks.js"

const { PORT, DATABASE_PATH, TWILIO_AUTH_TOKEN, WEBHOOK_BASE_URL } = process.env
const TWIML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
const RANK = { queued: 1, sending: 2, sent: 3, delivered: 4, undelivered: 4, failed: 4, read: 5 }

const db = new Database(DATABASE_PATH)
db.pragma("journal_mode = WAL")
db.pragma("synchronous = NORMAL")
db.exec(`
  CREATE TABLE IF NOT EXISTS messages (
    sid TEXT PRIMARY KEY, from_address TEXT NOT NULL, to_address TEXT NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL, status_rank INTEGER NOT NULL, created_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS message_events (
    message_sid TEXT NOT NULL, status TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (message_sid, status));`)

const insertMessage = db.prepare(
  "INSERT OR IGNORE INTO messages (sid, from_address, to_address, body, status, status_rank, created_at) VALUES (?, ?, ?, ?, 'received', 4, ?)"
)
const insertEvent = db.prepare("INSERT OR IGNORE INTO message_events (message_sid, status, received_at) VALUES (?, ?, ?)")
const advance = db.prepare("UPDATE messages SET status = ?, status_rank = ? WHERE sid = ? AND status_rank < ?")
const applyStatus = db.transaction((sid, status, at) => {
  insertEvent.run(sid, status, at)
  advance.run(status, RANK[status] ?? 0, sid, RANK[status] ?? 0)
})

const handlers = {
  "/webhooks/twilio/sms": (form, at) => insertMessage.run(form.MessageSid, form.From, form.To, form.Body ?? "", at),
  "/webhooks/twilio/status": (form, at) => applyStatus(form.MessageSid, form.MessageStatus, at)
}

const reply = (res, status, body, type = "text/plain") => {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) })
  res.end(body)
}

http.createServer((req, res) => {
  if (req.method === "GET") return reply(res, 200, "ok")
  const handler = handlers[req.url]
  if (handler === undefined) return reply(res, 404, "not found")
  const chunks = []
  req.on("data", (chunk) => chunks.push(chunk))
  req.on("end", () => {
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")))
    const signature = req.headers["x-twilio-signature"] ?? ""
    if (!webhooks.validateRequest(TWILIO_AUTH_TOKEN, signature, WEBHOOK_BASE_URL + req.url, form)) {
      return reply(res, 403, "invalid signature")
    }
    handler(form, new Date().toISOString())
    reply(res, 200, TWIML, "text/xml")
  })
}).listen(Number(PORT), "127.0.0.1")
