// Seeding, straight into SQLite with better-sqlite3 and batched transactions: the query figure's large
// store in this server's schema (created by its own migrations), and the stored outbound messages that
// the status-callback load refers to, in each target's schema.
import Database from "better-sqlite3"
import { OUR_NUMBER } from "./targets.mjs"

const DAY_MS = 86_400_000
const BATCH = 20_000

/** A small deterministic PRNG (mulberry32): the same store on every run. */
export const prng = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export const sidOf = (n) => `SM${n.toString(16).padStart(32, "0")}`
export const contactOf = (i) => `+1555${String(i).padStart(7, "0")}`
export const conversationIdOf = (i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`

// What people text a business about; the query figure searches for these words.
export const vocabulary = {
  names: ["Priya", "Marcus", "Elena", "Tomasz", "Aiko", "Jamal", "Sofia", "Liam", "Noor", "Diego", "Hana", "Oskar"],
  topics: ["refund", "delivery", "invoice", "appointment", "pickup", "warranty", "address", "payment", "reschedule", "receipt"],
  days: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "tomorrow", "tonight"],
  openers: ["Hi", "Hello", "Hey", "Thanks", "Good morning", "Quick question", "Sorry", "Ok"]
}

const pick = (random, list) => list[Math.floor(random() * list.length)]

/** A short text message with a name, a topic, a day and an order number, in one of a few shapes. */
const bodyOf = (random) => {
  const order = 10_000 + Math.floor(random() * 90_000)
  const [name, topic, day, opener] = [pick(random, vocabulary.names), pick(random, vocabulary.topics), pick(random, vocabulary.days), pick(random, vocabulary.openers)]
  switch (Math.floor(random() * 4)) {
    case 0:
      return `${opener}, this is ${name}. Any news on the ${topic} for order ${order}?`
    case 1:
      return `${opener} ${name}, your ${topic} for order ${order} is confirmed for ${day}.`
    case 2:
      return `Can we move the ${topic} to ${day}? Order ${order}. ${name}`
    default:
      return `${opener}! The ${topic} (order ${order}) looks fine. See you ${day}.`
  }
}

const INBOUND_EXTRA = JSON.stringify({ ToCountry: "US", ToState: "CA", FromZip: "94105", FromState: "CA", SmsStatus: "received", FromCity: "SAN FRANCISCO", FromCountry: "US", ApiVersion: "2010-04-01" })

/**
 * Bulk-load settings: no journal, no fsync, a large cache, and the message indexes and full-text triggers
 * set aside (their exact SQL is kept from sqlite_master), so rows go in without random index writes.
 */
const openForBulkLoad = (path) => {
  const db = new Database(path)
  db.pragma("journal_mode = OFF")
  db.pragma("synchronous = OFF")
  db.pragma("cache_size = -400000")
  const aside = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'messages' AND type IN ('index', 'trigger') AND sql IS NOT NULL").all()
  for (const { type, name } of aside) db.exec(`DROP ${type.toUpperCase()} "${name}"`)
  return { db, aside }
}

/** Indexes and triggers back exactly as the migrations made them, the full-text index rebuilt (and marked so), WAL on. */
const closeBulkLoad = ({ db, aside }) => {
  for (const { sql } of aside) db.exec(sql)
  db.exec("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
  db.exec("UPDATE search_indexed SET id = (SELECT COALESCE(MAX(id), 0) FROM messages)")
  db.exec("ANALYZE")
  db.pragma("journal_mode = WAL")
  db.close()
}

/** Runs `row(i)` for i in [0, count) in transactions of BATCH rows. */
const batched = (db, count, row) => {
  const batch = db.transaction((from, to) => {
    for (let i = from; i < to; i++) row(i)
  })
  for (let from = 0; from < count; from += BATCH) batch(from, Math.min(count, from + BATCH))
}

/**
 * `messages` messages over `conversations` threads between OUR_NUMBER and one contact each, half inbound,
 * evenly spread over the year before `endMs`, into a database this server's migrations created.
 * Returns what the queries need to pick realistic arguments.
 */
export const seedStore = (path, { messages, conversations, endMs }) => {
  const load = openForBulkLoad(path)
  const { db } = load
  const random = prng(42)
  const startMs = endMs - 365 * DAY_MS
  const step = (endMs - startMs) / messages
  const iso = (i) => new Date(startMs + i * step).toISOString()

  // Which thread each message is in, first: threads are written before their messages (foreign key).
  const threadOf = new Int32Array(messages)
  const first = new Int32Array(conversations).fill(-1)
  const last = new Int32Array(conversations)
  for (let i = 0; i < messages; i++) {
    const c = Math.floor(random() * conversations)
    threadOf[i] = c
    if (first[c] < 0) first[c] = i
    last[c] = i
  }
  const insertConversation = db.prepare(
    "INSERT INTO conversations (id, participant_key, participants, metadata, created_at, last_activity_at) VALUES (?, ?, ?, NULL, ?, ?)"
  )
  batched(db, conversations, (c) => {
    const participants = [OUR_NUMBER, contactOf(c)].sort()
    insertConversation.run(conversationIdOf(c), participants.join("|"), JSON.stringify(participants), iso(Math.max(0, first[c])), iso(last[c]))
  })

  const insertMessage = db.prepare(`
    INSERT INTO messages (sid, conversation_id, direction, from_address, to_address, body, status, status_rank,
      num_segments, num_media, extra, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 4, 1, 0, ?, ?, ?)`)
  batched(db, messages, (i) => {
    const c = threadOf[i]
    const inbound = random() < 0.5
    const at = iso(i)
    const [from, to] = inbound ? [contactOf(c), OUR_NUMBER] : [OUR_NUMBER, contactOf(c)]
    insertMessage.run(sidOf(i + 1), conversationIdOf(c), inbound ? "inbound" : "outbound", from, to, bodyOf(random),
      inbound ? "received" : "delivered", inbound ? INBOUND_EXTRA : null, at, at)
  })
  closeBulkLoad(load)
  return { startMs, endMs }
}

/**
 * Stored outbound messages, status `queued`, with SIDs sidBase..sidBase+count-1: what the status-callback
 * load advances to `sent` and `delivered`. One writer per target schema.
 */
const outboundWriters = {
  ours: (db) =>
    db.prepare(`
      INSERT INTO messages (sid, conversation_id, direction, from_address, to_address, body, status, status_rank,
        num_segments, num_media, created_at, updated_at)
      VALUES (?, NULL, 'outbound', ?, ?, ?, 'queued', 1, 1, 0, ?, ?)`),
  peer: (db) =>
    db.prepare(`
      INSERT INTO messages (message_sid, conversation_id, direction, from_number, to_number, body, timestamp, status)
      VALUES (?, 'bench', 'outbound', ?, ?, ?, ?, 'queued')`),
  ceiling: (db) =>
    db.prepare(`
      INSERT INTO messages (sid, from_address, to_address, body, status, status_rank, created_at)
      VALUES (?, ?, ?, ?, 'queued', 1, ?)`)
}

export const seedOutbound = (target, path, { sidBase, count, senders }) => {
  const db = new Database(path)
  db.pragma("busy_timeout = 10000")
  // The peer's rows point at a conversation that does not exist; its server never checks.
  db.pragma("foreign_keys = OFF")
  const insert = outboundWriters[target](db)
  const now = new Date().toISOString()
  const at = target === "peer" ? [Date.now()] : target === "ours" ? [now, now] : [now]
  batched(db, count, (i) => insert.run(sidOf(sidBase + i), OUR_NUMBER, contactOf(i % senders), `Your order ${i} has shipped.`, ...at))
  db.close()
}
