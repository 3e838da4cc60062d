// Load generator, run as its own process: `node loadgen.mjs '<json options>'`, prints one JSON result.
// Every request is precomputed before the clock starts (signed form, unique MessageSid, raw HTTP/1.1
// bytes), then N keep-alive connections each send one request at a time for a fixed duration. A raw
// socket client instead of http.Agent keeps the generator's own cost per request to a few microseconds:
// on 2 cores it shares the machine with the server it measures.
import * as net from "node:net"
import { readFileSync } from "node:fs"
import webhooks from "twilio/lib/webhooks/webhooks.js"

/** The fields Twilio sends with every inbound SMS besides the message itself (shared with the tests). */
const twilioInboundFields = JSON.parse(readFileSync(new URL("../../test/fixtures/inbound-geo.json", import.meta.url), "utf8"))

const options = JSON.parse(process.argv[2])
const { host, port, path, connections, warmupMs, durationMs, count, authToken, baseUrl } = options

/** SM + 32 hex digits, unique per index within a run's `sidBase`. */
const sid = (n) => `SM${n.toString(16).padStart(32, "0")}`

/** What Twilio posts for an inbound SMS: a realistic superset (deprecated SIDs, geo fields). */
const inboundParams = (i) => {
  const messageSid = sid(options.sidBase + i)
  return {
    ...twilioInboundFields,
    SmsMessageSid: messageSid,
    SmsSid: messageSid,
    Body: `Order ${options.sidBase + i} arrived, thanks! Can we move the delivery to Friday?`,
    To: options.to,
    MessageSid: messageSid,
    AccountSid: options.accountSid,
    From: `+1555${String(i % options.senders).padStart(7, "0")}`
  }
}

/** A status callback: each seeded message gets `sent`, then `delivered`. */
const statusParams = (i) => {
  const messageSid = sid(options.sidBase + (i >> 1))
  const status = i % 2 === 0 ? "sent" : "delivered"
  return {
    SmsSid: messageSid,
    SmsStatus: status,
    MessageStatus: status,
    To: `+1555${String((i >> 1) % options.senders).padStart(7, "0")}`,
    MessageSid: messageSid,
    AccountSid: options.accountSid,
    From: options.to,
    ApiVersion: "2010-04-01",
    ...(status === "delivered" ? { RawDlrDoneDate: "2501151030" } : {})
  }
}

const paramsOf = options.kind === "status" ? statusParams : inboundParams

const precompute = () => {
  const url = baseUrl + path
  const requests = new Array(count)
  for (let i = 0; i < count; i++) {
    const params = paramsOf(i)
    const body = new URLSearchParams(params).toString()
    const signature = webhooks.getExpectedTwilioSignature(authToken, url, params)
    requests[i] = Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: TwilioProxy/1.1\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: ${signature}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    )
  }
  return requests
}

/** Where one HTTP/1.1 response ends in `buf`, or -1 if it is not complete yet; and its status code. */
const parseResponse = (buf) => {
  const headerEnd = buf.indexOf("\r\n\r\n")
  if (headerEnd < 0) return { end: -1 }
  const head = buf.toString("latin1", 0, headerEnd)
  const status = Number(head.slice(9, 12))
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
  if (length !== null) {
    const end = headerEnd + 4 + Number(length[1])
    return { end: buf.length >= end ? end : -1, status }
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const last = buf.indexOf("0\r\n\r\n", headerEnd + 4)
    return { end: last < 0 ? -1 : last + 5, status }
  }
  return { end: headerEnd + 4, status }
}

const run = (requests) =>
  new Promise((resolve) => {
    const latencies = new Float64Array(requests.length)
    const statusCounts = {}
    let next = 0
    let measuredFrom = Infinity
    let completed = 0
    let non2xx = 0
    let errors = 0
    let active = 0
    let stopping = false
    let done = false
    const startedAt = performance.now()
    const warmupEnds = startedAt + warmupMs
    const endsAt = warmupEnds + durationMs

    const finish = () => {
      if (done) return
      done = true
      const measuredMs = Math.min(performance.now(), endsAt) - Math.min(measuredFrom, endsAt)
      resolve({ completed, measuredMs, latencies: latencies.subarray(0, completed), non2xx, errors, statusCounts, exhausted: next >= requests.length })
    }

    const connect = () => {
      active++
      const socket = net.connect({ host, port, noDelay: true })
      let pending = Buffer.alloc(0)
      let sentAt = 0
      let inFlight = false
      let connected = false
      const sendNext = () => {
        const now = performance.now()
        if (now >= endsAt || next >= requests.length) return socket.end()
        if (now >= warmupEnds && measuredFrom === Infinity) measuredFrom = now
        sentAt = now
        inFlight = true
        socket.write(requests[next++])
      }
      socket.on("connect", () => {
        connected = true
        sendNext()
      })
      socket.on("data", (chunk) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
        const { end, status } = parseResponse(pending)
        if (end < 0) return
        pending = pending.subarray(end)
        const now = performance.now()
        inFlight = false
        statusCounts[status] = (statusCounts[status] ?? 0) + 1
        if (status < 200 || status > 299) non2xx++
        if (sentAt >= warmupEnds && now <= endsAt) latencies[completed++] = now - sentAt
        sendNext()
      })
      // A connection lost with a request on it is an error; `close` follows `error`, so count it once there.
      socket.on("error", () => {})
      socket.on("close", () => {
        if (inFlight || !connected) errors++
        active--
        if (stopping || performance.now() >= endsAt || next >= requests.length) {
          if (active === 0) finish()
        } else if (errors < 1000) connect()
      })
    }
    for (let c = 0; c < connections; c++) connect()
    // A bound on the whole run even if a server stops answering.
    setTimeout(() => {
      stopping = true
      finish()
    }, warmupMs + durationMs + 15_000).unref()
  })

const requests = precompute()
const result = await run(requests)
const sorted = Float64Array.from(result.latencies).sort()
const at = (p) => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
process.stdout.write(JSON.stringify({
  requests: result.completed,
  rps: result.completed / (result.measuredMs / 1000),
  p50: at(50),
  p99: at(99),
  max: at(100),
  non2xx: result.non2xx,
  errors: result.errors,
  statusCounts: result.statusCounts,
  exhausted: result.exhausted
}))
process.exit(0)
