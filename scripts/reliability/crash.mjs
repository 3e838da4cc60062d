#!/usr/bin/env node
// Crash safety (issue 5, item 2). Each round starts `node dist/index.js webhooks` on a fresh database,
// drives signed inbound webhooks and status callbacks at it from concurrent clients, SIGKILLs it at a
// random moment (after a random number of acknowledgements), restarts it on the same database and checks:
//   - every request that got a 2xx is stored (zero lost),
//   - the database's integrity checks are ok,
//   - replaying every request (acknowledged or not) is answered 200 and leaves no duplicate:
//     one message per inbound SID, one event per (SID, status), one conversation per sender.
// Exits 1 on any loss, duplicate, failed check or non-2xx answer.
//
// With --postgres (issue 13): two replicas on one PostgreSQL behind an imaginary load balancer (the same
// public WEBHOOK_BASE_URL, each request to either), one SIGKILLed; PostgreSQL itself is restarted under the
// same load at another random moment, where 503s (nothing acknowledged) are the expected answer.
//
//   node scripts/reliability/crash.mjs [rounds] [--quick] [--postgres]      (default 10 rounds; --quick: 3 short ones)
import { build, count, duplicates, exitWithin, freePort, freshDatabase, parseArgs, pool, randomInt, shuffle, sid, SMS_PATH, startServer, STATUS_PATH, stopPostgres, tempDir, webhookPoster, withStore } from "./lib.mjs"

const { count: rounds, postgres, quick } = parseArgs(process.argv.slice(2), { normal: 10, quick: 3 })
const REPLICAS = postgres ? 2 : 1
const REQUESTS = quick ? 400 : 2_000
const CLIENTS = 16
const SENDERS = 40

const ACCOUNT_SID = `AC${"c".repeat(32)}`
const AUTH_TOKEN = "crash-test-auth-token-0123456789abcdef"
const OUR_NUMBER = "+15005550006"
const STATUSES = ["sent", "delivered", "undelivered", "failed", "read"]

const sender = (i) => `+1555${String(i % SENDERS).padStart(7, "0")}`

/** Two inbound messages for every status callback; some inbound bodies are STOP/START keywords. */
const requestsFor = (round) =>
  shuffle(Array.from({ length: REQUESTS }, (_, i) => {
    if (i % 3 !== 2) {
      const messageSid = sid("SM", round, i)
      const body = i % 97 === 0 ? "STOP" : i % 89 === 0 ? "START" : `crash round ${round} message ${i}`
      return {
        kind: "inbound",
        sid: messageSid,
        from: sender(i),
        path: SMS_PATH,
        params: { MessageSid: messageSid, SmsSid: messageSid, AccountSid: ACCOUNT_SID, From: sender(i), To: OUR_NUMBER, Body: body, NumMedia: "0", NumSegments: "1", SmsStatus: "received", ApiVersion: "2010-04-01" }
      }
    }
    // Callbacks for messages this process never sent (kept as events until the message row exists); a
    // (SID, status) pair can come more than once, as Twilio's retries do.
    const messageSid = sid("SM", 128 + round, randomInt(0, Math.ceil(REQUESTS / 8)))
    const status = STATUSES[randomInt(0, STATUSES.length)]
    return {
      kind: "status",
      sid: messageSid,
      status,
      path: STATUS_PATH,
      params: {
        MessageSid: messageSid,
        MessageStatus: status,
        SmsStatus: status,
        AccountSid: ACCOUNT_SID,
        From: OUR_NUMBER,
        To: sender(i),
        ApiVersion: "2010-04-01",
        ...(status === "failed" || status === "undelivered" ? { ErrorCode: "30003" } : {})
      }
    }
  }))

const isAck = (reply) => reply.status >= 200 && reply.status < 300

const round = async (n) => {
  const dir = tempDir("crash")
  const database = await freshDatabase(dir, postgres)
  const ports = await Promise.all(Array.from({ length: REPLICAS }, freePort))
  // What Twilio signs: the replicas' one public URL (on SQLite, the one server's own).
  const baseUrl = postgres ? "https://sms.example.test" : `http://127.0.0.1:${ports[0]}`
  const env = {
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_PHONE_NUMBER: OUR_NUMBER,
    // Nothing listens there: the start-up catch-up with Twilio fails at once, offline.
    TWILIO_API_BASE_URL: `http://127.0.0.1:${await freePort()}`,
    WEBHOOK_BASE_URL: baseUrl,
    WEBHOOK_HOST: "127.0.0.1",
    ...database.env,
    LOG_LEVEL: "info"
  }
  const start = async (replica) => {
    const server = startServer(["webhooks"], { ...env, WEBHOOK_PORT: String(ports[replica]) }, dir)
    await server.waitFor(/webhooks listening/)
    return server
  }
  const requests = requestsFor(n)
  const posters = () => ports.map((port) => webhookPoster({ port, baseUrl, token: AUTH_TOKEN, sockets: CLIENTS }))
  /** As a load balancer would: each request to one replica, at random. */
  const postAny = (pool, request) => pool[randomInt(0, pool.length)].post(request.path, request.params)

  // Load, and SIGKILL (the first replica) once the random number of acknowledgements is reached; on
  // PostgreSQL, the database restarts at another random point of the load.
  const replicas = await Promise.all(ports.map((_, r) => start(r)))
  const killAfter = randomInt(1, Math.floor(REQUESTS * 0.9))
  const restartAfter = postgres ? randomInt(1, killAfter) : Infinity
  let restarting
  const acked = []
  const errors = new Map()
  let sent = 0
  let killed = false
  const load = posters()
  await pool(requests, CLIENTS, async (request) => {
    sent++
    const reply = await postAny(load, request)
    if (isAck(reply)) acked.push(request)
    else {
      const key = reply.error ?? `HTTP ${reply.status}`
      errors.set(key, (errors.get(key) ?? 0) + 1)
    }
    if (restarting === undefined && acked.length >= restartAfter) restarting = database.server.restart()
    if (!killed && acked.length >= killAfter) {
      killed = true
      replicas[0].child.kill("SIGKILL")
    }
  }, () => killed)
  // Requests the restarting database refused (503) are not acknowledgements: the load can end short of the mark.
  if (!killed) replicas[0].child.kill("SIGKILL")
  await restarting
  for (const poster of load) poster.close()
  const killedExit = await replicas[0].exited
  // A 503 is the server saying it could not store the request (the database restarting): never an acknowledgement.
  const httpErrorsBeforeKill = [...errors.keys()].filter((k) => k.startsWith("HTTP") && !(postgres && k === "HTTP 503"))

  // Restart on the same database: everything acknowledged must be there.
  replicas[0] = await start(0)
  const afterRestart = await withStore(database, async (store) => {
    const messages = new Set((await store.rows("SELECT sid FROM messages")).map((r) => r.sid))
    const events = new Set((await store.rows("SELECT message_sid, status FROM message_events")).map((r) => `${r.message_sid} ${r.status}`))
    const lost = acked.filter((r) => !(r.kind === "inbound" ? messages.has(r.sid) : events.has(`${r.sid} ${r.status}`)))
    return { lost: lost.length, messages: messages.size, events: events.size, integrity: await store.integrity() }
  })

  // Replay everything: all answered 200, nothing twice.
  const replay = posters()
  let replayFailures = 0
  await pool(requests, CLIENTS, async (request) => {
    if ((await postAny(replay, request)).status !== 200) replayFailures++
  })
  for (const poster of replay) poster.close()
  const expected = {
    messages: new Set(requests.filter((r) => r.kind === "inbound").map((r) => r.sid)).size,
    events: new Set(requests.filter((r) => r.kind === "status").map((r) => `${r.sid} ${r.status}`)).size,
    conversations: new Set(requests.filter((r) => r.kind === "inbound").map((r) => r.from)).size
  }
  const final = await withStore(database, async (store) => ({
    messages: await count(store, "messages"),
    events: await count(store, "message_events"),
    conversations: await count(store, "conversations"),
    duplicates: await duplicates(store, "messages", "sid") + await duplicates(store, "message_events", "message_sid, status") +
      await duplicates(store, "conversations", "participant_key") + await duplicates(store, "opt_outs", "recipient, sender"),
    unthreaded: await count(store, "messages WHERE conversation_id IS NULL"),
    integrity: await store.integrity()
  }))

  for (const replica of replicas) replica.child.kill("SIGTERM")
  const stoppedExits = await Promise.all(replicas.map((replica) => exitWithin(replica, 15_000)))

  const problems = [
    killedExit.signal === "SIGKILL" ? undefined : `first process ended ${JSON.stringify(killedExit)}, not by SIGKILL`,
    httpErrorsBeforeKill.length === 0 ? undefined : `HTTP errors under load: ${httpErrorsBeforeKill.join(", ")}`,
    afterRestart.lost === 0 ? undefined : `${afterRestart.lost} acknowledged requests lost`,
    afterRestart.integrity === "ok" ? undefined : `integrity after the crash: ${afterRestart.integrity}`,
    replayFailures === 0 ? undefined : `${replayFailures} replayed requests not answered 200`,
    final.messages === expected.messages && final.events === expected.events && final.conversations === expected.conversations
      ? undefined
      : `after replay ${JSON.stringify(final)} but expected ${JSON.stringify(expected)}`,
    final.duplicates === 0 ? undefined : `${final.duplicates} duplicated keys`,
    final.unthreaded === 0 ? undefined : `${final.unthreaded} inbound messages without a conversation`,
    final.integrity === "ok" ? undefined : `integrity after replay: ${final.integrity}`,
    stoppedExits.every((e) => e.code === 0) ? undefined : `restarted processes exited ${JSON.stringify(stoppedExits)} on SIGTERM`
  ].filter((p) => p !== undefined)

  const inFlight = [...errors].map(([k, v]) => `${k}×${v}`).join(" ") || "none"
  console.log(
    `round ${String(n + 1).padStart(2)}: sent ${String(sent).padStart(4)}, acked ${String(acked.length).padStart(4)} (killed after ${killAfter}` +
      `${postgres ? `, database restarted after ${restartAfter}` : ""}), ` +
      `unacknowledged: ${inFlight}; after restart: ${afterRestart.messages} messages + ${afterRestart.events} events stored, lost ${afterRestart.lost}, ` +
      `integrity ${afterRestart.integrity}; after replay: ${final.messages}/${expected.messages} messages, ${final.events}/${expected.events} events, ` +
      `${final.conversations}/${expected.conversations} conversations, duplicates ${final.duplicates}` +
      (problems.length === 0 ? "  OK" : `\n  FAILED: ${problems.join("; ")}`)
  )
  return { sent, acked: acked.length, lost: afterRestart.lost, problems: problems.length }
}

await build()
console.log(
  `crash safety: ${rounds} round(s) of ${REQUESTS} signed webhooks from ${CLIENTS} concurrent clients, SIGKILL at a random point` +
    (postgres ? ` (PostgreSQL: ${REPLICAS} replicas, one killed, the database restarted under load too)` : "")
)
const results = []
for (let n = 0; n < rounds; n++) results.push(await round(n))
const total = (key) => results.reduce((sum, r) => sum + r[key], 0)
console.log(`total: ${total("sent")} sent before the kills, ${total("acked")} acknowledged, ${total("lost")} lost, ${total("problems")} problem(s)`)
await stopPostgres()
process.exitCode = total("problems") === 0 ? 0 : 1
