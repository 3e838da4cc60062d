#!/usr/bin/env node
// Concurrent processes (issue 5, item 5): the documented topology under sustained load. One `webhooks`
// process holds the webhook port; two MCP stdio processes (as Claude Desktop and Claude Code each start
// one) find the port taken and serve tools only; all three share one database file. Everything runs in
// sandbox mode (in-memory Twilio, offline). At once:
//   - signed inbound webhooks from hundreds of senders, a tenth of them delivered twice (Twilio retries),
//   - send_sms on both MCP processes, each followed by its status callbacks (shuffled, some repeated),
//   - the same idempotencyKey sent on both processes at the same moment,
//   - create_conversation, simulate_inbound and reads (inbound list, threads, search, status, conversations).
// Then, with every process stopped (exit 0 each), the database must show: zero errors, every acknowledged
// row present, nothing duplicated, exactly one message per idempotency key, every status at the highest
// rank it was sent, integrity ok. Exits 1 otherwise.
//
// With --postgres (issue 13): two `webhooks` replicas (their own processes and ports, one public
// WEBHOOK_BASE_URL) and the two MCP processes on one PostgreSQL; every inbound webhook is delivered to both
// replicas at once, and each status callback to either, so they race and arrive out of order across them.
//
//   node scripts/reliability/concurrent.mjs [--quick] [--postgres]      (full: ~9,000 webhooks and ~2,000 tool calls)
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js"
import { build, count, duplicates, exitWithin, freePort, freshDatabase, parseArgs, pool, randomInt, shuffle, sid, SMS_PATH, startServer, STATUS_PATH, stopPostgres, tempDir, webhookPoster, withStore } from "./lib.mjs"

const { postgres, quick } = parseArgs(process.argv.slice(2), { normal: 1, quick: 1 })
const REPLICAS = postgres ? 2 : 1
const scale = quick ? 0.1 : 1
const INBOUND = Math.round(3_000 * scale)
const SENDS = Math.round(1_000 * scale)
const RACES = Math.round(100 * scale)
const CREATES = Math.round(200 * scale)
const SIMULATED = Math.round(200 * scale)
const READS = Math.round(500 * scale)
const NUMBERS = 300
const WEBHOOK_CLIENTS = 16
const CALLS_PER_PROCESS = 16

// Sandbox mode's fixed account (sandboxDefaults in src/Config.ts): the webhooks process checks signatures with it.
const ACCOUNT_SID = `AC${"0".repeat(32)}`
const AUTH_TOKEN = "sandbox-auth-token-not-a-real-secret"
const OUR_NUMBER = "+15005550006"
const RANK = { queued: 1, sending: 2, sent: 3, delivered: 4, read: 5 }

const number = (i) => `+1555${String(i % NUMBERS).padStart(7, "0")}`

/** The official MCP client over a server process this script spawned (so its exit and stderr are ours to see). */
class ChildTransport {
  constructor(child) {
    this.child = child
    this.buffer = new ReadBuffer()
  }
  async start() {
    this.child.stdout.on("data", (chunk) => {
      this.buffer.append(chunk)
      for (;;) {
        let message
        try {
          message = this.buffer.readMessage()
        } catch (error) {
          this.onerror?.(error)
          continue
        }
        if (message === null) break
        this.onmessage?.(message)
      }
    })
    this.child.once("exit", () => this.onclose?.())
  }
  async send(message) {
    this.child.stdin.write(serializeMessage(message))
  }
  async close() {
    this.child.stdin.end()
  }
}

const tally = new Map()
const problem = (what) => tally.set(what, (tally.get(what) ?? 0) + 1)

const startMcp = async (name, env, dir) => {
  const server = startServer(["--sandbox"], env, dir)
  const client = new Client({ name, version: "0" })
  client.onerror = (error) => problem(`${name}: protocol error ${error.message}`)
  await client.connect(new ChildTransport(server.child))
  // Listing the tools makes the client check every structuredContent against its output schema.
  await client.listTools()
  await server.waitFor(/webhook port \d+ is in use/)
  const call = async (tool, args) => {
    try {
      return await client.callTool({ name: tool, arguments: args }, undefined, { timeout: 120_000 })
    } catch (error) {
      problem(`${name}: ${tool} threw ${error.message}`)
      return { isError: true, content: [{ type: "text", text: String(error) }] }
    }
  }
  return { name, server, call }
}

const textOf = (result) => result.content?.map((c) => c.text ?? "").join(" ") ?? ""

await build()
const dir = tempDir("concurrent")
const database = await freshDatabase(dir, postgres)
const ports = await Promise.all(Array.from({ length: REPLICAS }, freePort))
// What Twilio signs: the replicas' one public URL (on SQLite, the one server's own).
const baseUrl = postgres ? "https://sms.example.test" : `http://127.0.0.1:${ports[0]}`
const env = {
  WEBHOOK_BASE_URL: baseUrl,
  WEBHOOK_HOST: "127.0.0.1",
  // The MCP processes find the first replica's port taken and serve tools only.
  WEBHOOK_PORT: String(ports[0]),
  ...database.env,
  LOG_LEVEL: "info"
}

const replicas = ports.map((port) => startServer(["webhooks", "--sandbox"], { ...env, WEBHOOK_PORT: String(port) }, dir))
await Promise.all(replicas.map((replica) => replica.waitFor(/webhooks listening/)))
const mcps = [await startMcp("mcp-a", env, dir), await startMcp("mcp-b", env, dir)]
const posters = ports.map((port) => webhookPoster({ port, baseUrl, token: AUTH_TOKEN, sockets: WEBHOOK_CLIENTS }))

const acked = { inbound: new Set(), events: new Set() }
let webhookPosts = 0
/** One delivery to replica `r`. */
const deliver = async (r, path, params, key) => {
  webhookPosts++
  const reply = await posters[r].post(path, params)
  if (reply.status === 200) (path === SMS_PATH ? acked.inbound : acked.events).add(key)
  else problem(`webhook ${path}: ${reply.error ?? `HTTP ${reply.status}`}`)
}
/** An inbound message: to every replica at once (they race for it). A status callback: to any one. */
const postWebhook = (path, params, key) =>
  path === SMS_PATH
    ? Promise.all(posters.map((_, r) => deliver(r, path, params, key)))
    : deliver(randomInt(0, posters.length), path, params, key)

/** At most `n` tasks at a time; the rest wait their turn in order. */
const limiter = (n) => {
  let active = 0
  const waiting = []
  return async (task) => {
    if (active >= n) await new Promise((resolve) => waiting.push(resolve))
    active++
    try {
      return await task()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}
const limits = mcps.map(() => limiter(CALLS_PER_PROCESS))
const onProcess = (i, tool, args) => limits[i](() => mcps[i].call(tool, args))

/** Every conversation the load should produce, as its participant key. */
const threads = new Set()
const thread = (...participants) => threads.add([...participants].sort().join("|"))

let toolCalls = 0
const expectOk = async (i, tool, args) => {
  toolCalls++
  const result = await onProcess(i, tool, args)
  if (result.isError) problem(`${tool}: ${textOf(result).slice(0, 200)}`)
  return result
}

// --- the load ---------------------------------------------------------------------------------------------

const inboundSids = Array.from({ length: INBOUND }, (_, i) => sid("SM", 1, i))
const inboundLoad = () =>
  pool(shuffle(Array.from({ length: INBOUND }, (_, i) => i).flatMap((i) => (i % 10 === 0 ? [i, i] : [i]))), WEBHOOK_CLIENTS, (i) => {
    thread(OUR_NUMBER, number(i))
    return postWebhook(SMS_PATH, {
      MessageSid: inboundSids[i],
      SmsSid: inboundSids[i],
      AccountSid: ACCOUNT_SID,
      From: number(i),
      To: OUR_NUMBER,
      Body: `load inbound ${i}`,
      NumMedia: "0",
      NumSegments: "1",
      SmsStatus: "received",
      ApiVersion: "2010-04-01"
    }, inboundSids[i])
  })

/** Sent SIDs, and the statuses their callbacks carried. */
const sent = new Map()
const statusCallbacks = (messageSid, to) => {
  const statuses = ["queued", "sending", "sent", "delivered"].filter((s) => s === "delivered" || Math.random() < 0.7)
  if (Math.random() < 0.3) statuses.push("read")
  sent.set(messageSid, statuses)
  const deliveries = shuffle([...statuses, ...statuses.filter(() => Math.random() < 0.2)])
  return Promise.all(deliveries.map((status) =>
    postWebhook(STATUS_PATH, { MessageSid: messageSid, MessageStatus: status, SmsStatus: status, AccountSid: ACCOUNT_SID, From: OUR_NUMBER, To: to, ApiVersion: "2010-04-01" }, `${messageSid} ${status}`)
  ))
}
const conversationIds = []
const sendLoad = () =>
  Promise.all(Array.from({ length: SENDS }, async (_, j) => {
    const to = number(randomInt(0, NUMBERS))
    thread(OUR_NUMBER, to)
    const result = await expectOk(j % 2, "send_sms", { to, message: `load send ${j}` })
    const out = result.structuredContent
    if (out?.messageSid === undefined) return
    conversationIds.push(out.conversationId)
    await statusCallbacks(out.messageSid, to)
  }))

/** One key, both processes, same moment: one sends, the other replays it or reports it in progress. */
let raceRefusals = 0
let raceReplays = 0
const raceLoad = () =>
  Promise.all(Array.from({ length: RACES }, (_, k) =>
    Promise.all(mcps.map(async (_, i) => {
      thread(OUR_NUMBER, number(k))
      toolCalls++
      const result = await onProcess(i, "send_sms", { to: number(k), message: `race ${k}`, idempotencyKey: `race-${k}` })
      if (!result.isError) return void (result.structuredContent?.replayed === true && raceReplays++)
      if (/idempotencyKey "race-\d+" .* no result yet/.test(textOf(result))) raceRefusals++
      else problem(`race send_sms: ${textOf(result).slice(0, 200)}`)
    }))))

const createLoad = () =>
  Promise.all(Array.from({ length: CREATES }, async (_, c) => {
    const a = randomInt(0, NUMBERS)
    const b = (a + randomInt(1, NUMBERS)) % NUMBERS
    thread(number(a), number(b))
    await expectOk(c % 2, "create_conversation", { participants: [number(a), number(b)] })
  }))

const simulated = new Set()
const simulateLoad = () =>
  Promise.all(Array.from({ length: SIMULATED }, async (_, s) => {
    thread(OUR_NUMBER, number(s))
    const result = await expectOk(s % 2, "simulate_inbound", { from: number(s), body: `simulated ${s}` })
    if (result.structuredContent?.messageSid) simulated.add(result.structuredContent.messageSid)
  }))

const readLoad = () =>
  Promise.all(Array.from({ length: READS }, async (_, r) => {
    const reads = [
      () => ["get_inbound_messages", { limit: 20 }],
      () => ["list_conversations", { limit: 20 }],
      () => ["search_messages", { query: "load" }],
      () => (conversationIds.length > 0 ? ["get_conversation_thread", { conversationId: conversationIds[r % conversationIds.length], includeContext: true }] : ["list_conversations", {}]),
      () => (sent.size > 0 ? ["get_message_status", { messageSid: [...sent.keys()][r % sent.size] }] : ["get_inbound_messages", {}])
    ]
    const [tool, args] = reads[r % reads.length]()
    await expectOk(r % 2, tool, args)
  }))

console.log(
  `concurrent processes${quick ? " (quick)" : ""}: ${REPLICAS} webhooks + 2 MCP processes on one ${postgres ? "PostgreSQL" : "SQLite"} database` +
    `${postgres ? " (every inbound to both replicas at once, status callbacks to either)" : ""}; ` +
    `${INBOUND} inbound webhooks (+10% redelivered), ${SENDS} sends with status callbacks, ${RACES} idempotency races, ` +
    `${CREATES} create_conversation, ${SIMULATED} simulate_inbound, ${READS} reads`
)
const startedAt = Date.now()
await Promise.all([inboundLoad(), sendLoad(), raceLoad(), createLoad(), simulateLoad(), readLoad()])
const seconds = (Date.now() - startedAt) / 1000
for (const poster of posters) poster.close()

// --- stop everything, then read the database --------------------------------------------------------------

for (const mcp of mcps) mcp.server.child.stdin.end()
for (const replica of replicas) replica.child.kill("SIGTERM")
const exits = await Promise.all([...replicas, ...mcps.map((m) => m.server)].map((s) => exitWithin(s, 15_000)))
exits.forEach((exit, i) => exit.code !== 0 && problem(`process ${i} exited ${JSON.stringify(exit)}`))
for (const [name, server] of [...replicas.map((r, i) => [`webhooks-${i}`, r]), ...mcps.map((m) => [m.name, m.server])]) {
  const errorLines = server.stderr().split("\n").filter((line) => /level=(ERROR|FATAL)/.test(line))
  if (errorLines.length > 0) problem(`${name} logged ${errorLines.length} error line(s), e.g. ${errorLines[0].slice(0, 200)}`)
}

const report = await withStore(database, async (store) => {
  const messages = new Map((await store.rows("SELECT sid, status, status_rank FROM messages")).map((r) => [r.sid, r]))
  const events = new Set((await store.rows("SELECT message_sid, status FROM message_events")).map((r) => `${r.message_sid} ${r.status}`))
  const lostInbound = [...acked.inbound, ...simulated].filter((s) => !messages.has(s)).length
  const lostSent = [...sent.keys()].filter((s) => !messages.has(s)).length
  const lostEvents = [...acked.events].filter((key) => !events.has(key)).length
  const wrongRank = [...sent].filter(([s, statuses]) => {
    const top = statuses.reduce((best, status) => (RANK[status] > RANK[best] ? status : best), "queued")
    const stored = messages.get(s)
    return stored === undefined || stored.status !== top || stored.status_rank !== RANK[top]
  }).length
  const perKey = await store.rows("SELECT body, COUNT(*) AS n FROM messages WHERE body LIKE 'race %' GROUP BY body")
  return {
    messages: messages.size,
    expectedMessages: inboundSids.length + sent.size + RACES + simulated.size,
    conversations: await count(store, "conversations"),
    events: events.size,
    lost: lostInbound + lostSent + lostEvents,
    duplicates: await duplicates(store, "messages", "sid") + await duplicates(store, "message_events", "message_sid, status") +
      await duplicates(store, "conversations", "participant_key"),
    racesWithOneMessage: perKey.filter((k) => Number(k.n) === 1).length,
    wrongRank,
    unthreaded: await count(store, "messages WHERE conversation_id IS NULL"),
    integrity: await store.integrity()
  }
})

const checks = [
  [report.lost === 0, `lost rows: ${report.lost}`],
  [report.messages === report.expectedMessages, `messages ${report.messages}, expected ${report.expectedMessages}`],
  [report.duplicates === 0, `duplicated keys: ${report.duplicates}`],
  [report.racesWithOneMessage === RACES, `idempotency keys with exactly one message: ${report.racesWithOneMessage}/${RACES}`],
  [report.wrongRank === 0, `sent messages not at their highest status: ${report.wrongRank}`],
  [report.unthreaded === 0, `messages without a conversation: ${report.unthreaded}`],
  [report.conversations === threads.size, `conversations ${report.conversations}, expected ${threads.size}`],
  [report.integrity === "ok", `integrity: ${report.integrity}`]
]
for (const [ok, what] of checks) if (!ok) problem(what)

console.log(
  `${webhookPosts} webhooks (${acked.inbound.size} inbound + ${acked.events.size} status events acknowledged) and ${toolCalls} tool calls in ${seconds.toFixed(1)} s ` +
    `(${Math.round((webhookPosts + toolCalls) / seconds)} requests/s)\n` +
    `database: ${report.messages}/${report.expectedMessages} messages, ${report.events} status events, ${report.conversations}/${threads.size} conversations, ` +
    `lost ${report.lost}, duplicated ${report.duplicates}, ` +
    `idempotency keys sent once ${report.racesWithOneMessage}/${RACES} (the concurrent duplicate: ${raceReplays} replayed, ${raceRefusals} refused as in progress), ` +
    `statuses not at their highest rank ${report.wrongRank}, integrity ${report.integrity}\n` +
    `processes: exit codes ${exits.map((e) => e.code).join(", ")}; errors: ${tally.size === 0 ? "0" : ""}`
)
for (const [what, n] of tally) console.log(`  ${n}× ${what}`)
await stopPostgres()
process.exitCode = tally.size === 0 ? 0 : 1
