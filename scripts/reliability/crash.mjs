#!/usr/bin/env node
// Crash safety (issue 5, item 2). Each round starts `node dist/index.js webhooks` on a fresh database,
// drives signed inbound webhooks and status callbacks at it from concurrent clients, SIGKILLs it at a
// random moment (after a random number of acknowledgements), restarts it on the same file and checks:
//   - every request that got a 2xx is stored (zero lost),
//   - PRAGMA integrity_check and the full-text index check are ok,
//   - replaying every request (acknowledged or not) is answered 200 and leaves no duplicate:
//     one message per inbound SID, one event per (SID, status), one conversation per sender.
// Exits 1 on any loss, duplicate, failed check or non-2xx answer.
//
//   node scripts/reliability/crash.mjs [rounds] [--quick]      (default 10 rounds; --quick: 3 short ones)
import { join } from "node:path"
import { build, count, duplicates, exitWithin, freePort, integrity, parseArgs, pool, randomInt, shuffle, sid, SMS_PATH, startServer, STATUS_PATH, tempDir, webhookPoster, withDatabase } from "./lib.mjs"

const { count: rounds, quick } = parseArgs(process.argv.slice(2), { normal: 10, quick: 3 })
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
  const databasePath = join(dir, "twilio.db")
  const port = await freePort()
  const env = {
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_PHONE_NUMBER: OUR_NUMBER,
    // Nothing listens there: the start-up catch-up with Twilio fails at once, offline.
    TWILIO_API_BASE_URL: `http://127.0.0.1:${await freePort()}`,
    WEBHOOK_BASE_URL: `http://127.0.0.1:${port}`,
    WEBHOOK_HOST: "127.0.0.1",
    WEBHOOK_PORT: String(port),
    DATABASE_PATH: databasePath,
    LOG_LEVEL: "info"
  }
  const start = async () => {
    const server = startServer(["webhooks"], env, dir)
    await server.waitFor(/webhooks listening/)
    return server
  }
  const requests = requestsFor(n)

  // Load, and SIGKILL once the random number of acknowledgements is reached.
  const first = await start()
  const killAfter = randomInt(1, Math.floor(REQUESTS * 0.9))
  const acked = []
  const errors = new Map()
  let sent = 0
  let killed = false
  const poster = webhookPoster({ port, baseUrl: env.WEBHOOK_BASE_URL, token: AUTH_TOKEN, sockets: CLIENTS })
  await pool(requests, CLIENTS, async (request) => {
    sent++
    const reply = await poster.post(request.path, request.params)
    if (isAck(reply)) acked.push(request)
    else {
      const key = reply.error ?? `HTTP ${reply.status}`
      errors.set(key, (errors.get(key) ?? 0) + 1)
    }
    if (!killed && acked.length >= killAfter) {
      killed = true
      first.child.kill("SIGKILL")
    }
  }, () => killed)
  poster.close()
  const killedExit = await first.exited
  const httpErrorsBeforeKill = [...errors.keys()].filter((k) => k.startsWith("HTTP"))

  // Restart on the same file: everything acknowledged must be there.
  const second = await start()
  const afterRestart = withDatabase(databasePath, (db) => {
    const hasMessage = db.prepare("SELECT 1 FROM messages WHERE sid = ?").pluck()
    const hasEvent = db.prepare("SELECT 1 FROM message_events WHERE message_sid = ? AND status = ?").pluck()
    const lost = acked.filter((r) => (r.kind === "inbound" ? hasMessage.get(r.sid) : hasEvent.get(r.sid, r.status)) === undefined)
    return { lost: lost.length, messages: count(db, "messages"), events: count(db, "message_events"), integrity: integrity(db) }
  })

  // Replay everything: all answered 200, nothing twice.
  const replayer = webhookPoster({ port, baseUrl: env.WEBHOOK_BASE_URL, token: AUTH_TOKEN, sockets: CLIENTS })
  let replayFailures = 0
  await pool(requests, CLIENTS, async (request) => {
    if ((await replayer.post(request.path, request.params)).status !== 200) replayFailures++
  })
  replayer.close()
  const expected = {
    messages: new Set(requests.filter((r) => r.kind === "inbound").map((r) => r.sid)).size,
    events: new Set(requests.filter((r) => r.kind === "status").map((r) => `${r.sid} ${r.status}`)).size,
    conversations: new Set(requests.filter((r) => r.kind === "inbound").map((r) => r.from)).size
  }
  const final = withDatabase(databasePath, (db) => ({
    messages: count(db, "messages"),
    events: count(db, "message_events"),
    conversations: count(db, "conversations"),
    duplicates: duplicates(db, "messages", "sid") + duplicates(db, "message_events", "message_sid, status") +
      duplicates(db, "conversations", "participant_key") + duplicates(db, "opt_outs", "recipient, sender"),
    unthreaded: db.prepare("SELECT COUNT(*) FROM messages WHERE conversation_id IS NULL").pluck().get(),
    integrity: integrity(db)
  }))

  second.child.kill("SIGTERM")
  const stoppedExit = await exitWithin(second, 15_000)

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
    stoppedExit.code === 0 ? undefined : `restarted process exited ${JSON.stringify(stoppedExit)} on SIGTERM`
  ].filter((p) => p !== undefined)

  const inFlight = [...errors].map(([k, v]) => `${k}×${v}`).join(" ") || "none"
  console.log(
    `round ${String(n + 1).padStart(2)}: sent ${String(sent).padStart(4)}, acked ${String(acked.length).padStart(4)} (killed after ${killAfter}), ` +
      `unacknowledged: ${inFlight}; after restart: ${afterRestart.messages} messages + ${afterRestart.events} events stored, lost ${afterRestart.lost}, ` +
      `integrity ${afterRestart.integrity}; after replay: ${final.messages}/${expected.messages} messages, ${final.events}/${expected.events} events, ` +
      `${final.conversations}/${expected.conversations} conversations, duplicates ${final.duplicates}` +
      (problems.length === 0 ? "  OK" : `\n  FAILED: ${problems.join("; ")}`)
  )
  return { sent, acked: acked.length, lost: afterRestart.lost, problems: problems.length }
}

await build()
console.log(`crash safety: ${rounds} round(s) of ${REQUESTS} signed webhooks from ${CLIENTS} concurrent clients, SIGKILL at a random point`)
const results = []
for (let n = 0; n < rounds; n++) results.push(await round(n))
const total = (key) => results.reduce((sum, r) => sum + r[key], 0)
console.log(`total: ${total("sent")} sent before the kills, ${total("acked")} acknowledged, ${total("lost")} lost, ${total("problems")} problem(s)`)
process.exitCode = total("problems") === 0 ? 0 : 1
