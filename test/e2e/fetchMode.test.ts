/**
 * Replies and statuses without a public URL (issue 21): a server started with only the Twilio variables fetches
 * them from Twilio (the emulator, behind a local front that adds inbound media and counts requests), over stdio
 * with the MCP SDK client.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, beforeEach, expect, it } from "vitest"
import { databaseUrlFor, onPostgres } from "../support/Dialect.js"
import { ACCOUNT_SID, startEmulator, type TwilioEmulator } from "../support/Emulator.js"
import { type McpProcess, startMcp } from "../support/McpProcess.js"
import { poll } from "../support/Output.js"
import { freePort } from "../support/ports.js"
import { type Env, serverEnv, stopAll, tempDir } from "../support/ServerProcess.js"
import { startTwilioFront, type TwilioFront } from "../support/TwilioFront.js"

const ALICE = "+15557654321"
const LIST = /^GET \/2010-04-01\/Accounts\/AC\w+\/Messages\.json$/

let dir: string
let emulator: TwilioEmulator
let front: TwilioFront
let env: Env

beforeEach(async () => {
  dir = tempDir()
  // The number's messaging webhook was never set: Twilio only stores what arrives.
  emulator = await startEmulator()
  front = await startTwilioFront(emulator)
  const databasePath = path.join(dir, "twilio.db")
  const { WEBHOOK_BASE_URL: _url, INBOUND: _inbound, ...base } = serverEnv({ twilioUrl: front.url, webhookPort: await freePort(), databasePath })
  env = { ...base, ...(onPostgres ? { DATABASE_URL: await databaseUrlFor(databasePath) } : {}) }
})
afterEach(async () => {
  await stopAll()
  await front.close()
  await emulator.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** A server on the test's database, once it fetches (or, `fetching: false`, once it is up). */
const startServer = async (extra: Env = {}, twilioUrl = front.url, fetching = true) => {
  const server = await startMcp({ ...env, TWILIO_API_BASE_URL: twilioUrl, ...extra }, dir)
  await server.stderr.waitForLine(fetching ? /this process fetches replies/ : /twilio-mcp ready/)
  return server
}

/** A wait_for_reply from ALICE, started; resolves with its result. */
const waitFromAlice = (server: McpProcess, timeoutSeconds = 20) => server.call("wait_for_reply", { from: ALICE, timeoutSeconds })

it("with only the Twilio variables, a waiting wait_for_reply returns a text Twilio stored; its timeout says how replies arrive", async () => {
  const server = await startServer()
  expect(server.stderr.text()).toMatch(/replies are fetched from Twilio every 2 s while you wait/)

  const timedOut = await server.call("wait_for_reply", { from: ALICE, timeoutSeconds: 1 })
  expect(timedOut).toMatchObject({ status: "timeout", note: expect.stringContaining("replies are fetched from Twilio every 2 s while you wait") })

  const waiting = waitFromAlice(server)
  const { sid } = await front.simulateInbound(ALICE, "yes, 3pm works")
  const reply = await waiting
  expect(reply).toMatchObject({ status: "reply", messages: [{ messageSid: sid, body: "yes, 3pm works", from: ALICE }] })
})

it("an MMS arrives with its media, as a webhook's MediaUrl{N} and type", async () => {
  const server = await startServer()
  const waiting = waitFromAlice(server)
  const { sid } = await front.simulateInbound(ALICE, "look", [{ contentType: "image/jpeg" }, { contentType: "image/png" }])
  const reply = await waiting
  const [message] = reply.messages
  expect(message.messageSid).toBe(sid)
  expect(message.media).toEqual([
    { url: expect.stringMatching(new RegExp(`^https://api\\.twilio\\.com/2010-04-01/Accounts/AC\\w+/Messages/${sid}/Media/ME\\w+$`)), contentType: "image/jpeg" },
    { url: expect.stringMatching(/\/Media\/ME\w+$/), contentType: "image/png" }
  ])
})

it("a send passes no StatusCallback, and its status reaches delivered by fetching", async () => {
  const server = await startServer()
  const sent = await server.call("send_sms", { to: ALICE, message: "on my way" })
  const [create] = front.forms(/^POST \/2010-04-01\/Accounts\/AC\w+\/Messages\.json$/)
  expect(create?.get("Body")).toBe("on my way")
  expect(create?.has("StatusCallback")).toBe(false)

  await emulator.simulateStatus(sent.messageSid, "delivered")
  const thread = await poll(
    () => server.call("get_conversation_thread", { conversationId: sent.conversationId }),
    (t: any) => t.messages.some((m: any) => m.messageSid === sent.messageSid && m.status === "delivered"),
    15_000
  )
  expect(thread.messages.find((m: any) => m.messageSid === sent.messageSid).status).toBe("delivered")
})

it("a text that comes by webhook and by fetch is one message and one wake-up", async () => {
  const server = await startServer()
  // The number's webhook points at this server (signed for the local listener's URL, which stands in for WEBHOOK_BASE_URL).
  await emulator.setSmsUrl(`http://127.0.0.1:${env.WEBHOOK_PORT}/webhooks/twilio/sms`)
  const waiting = waitFromAlice(server)
  const before = front.count(LIST)
  const { sid } = await front.simulateInbound(ALICE, "both ways")
  expect((await waiting).messages.map((m: any) => m.messageSid)).toEqual([sid])
  // The fetcher lists it too (at least one list request after it was stored), and finds it stored.
  await poll(async () => front.count(LIST), (n) => n >= before + 2, 10_000)
  const again = await server.call("wait_for_reply", { from: ALICE, timeoutSeconds: 3 })
  expect(again).toMatchObject({ status: "timeout", messages: [] })
  const inbound = await server.call("get_inbound_messages", { from: ALICE })
  expect(inbound.messages.map((m: any) => m.messageSid)).toEqual([sid])
})

it("two servers on one database: one fetches; killed, the other takes over within seconds", async () => {
  // Each server talks to Twilio through its own front: the requests say which one fetches.
  const second = await startTwilioFront(emulator)
  try {
    const one = await startServer()
    const two = await startServer({}, second.url, false)
    const listsOf = () => [front.count(LIST), second.count(LIST)] as const
    const start = listsOf()
    // Fast cadence for both: a wait in the second process (its heartbeat is in the database).
    const waiting = waitFromAlice(two, 20)
    await poll(async () => listsOf(), ([a]) => a >= start[0] + 3, 15_000)
    // The second asked once at the start of its wait (the first fetch was fresh, or not: at most once), never on a cadence.
    expect(second.count(LIST) - start[1]).toBeLessThanOrEqual(1)
    expect(two.stderr.text()).not.toMatch(/this process fetches replies/)

    // Killed as a crash would: no chance to hand the lease back.
    process.kill(one.pid!, "SIGKILL")
    await two.stderr.waitForLine(/this process fetches replies/, 15_000)
    const { sid } = await front.simulateInbound(ALICE, "still there?")
    expect((await waiting).messages.map((m: any) => m.messageSid)).toEqual([sid])
  } finally {
    await second.close()
  }
})

it("429 from the list endpoint: backoff with one warning, then recovery, and the reply arrives", async () => {
  // Two failed fetches in a row (each the request and the client's 3 quick retries on 429).
  front.rateLimit(LIST, 8)
  const server = await startServer({ INBOUND_FETCH_SECONDS: "1" })
  await server.stderr.waitForLine(/fetching from Twilio works again/, 20_000)
  const warnings = server.stderr.lines().filter((line) => /fetching from Twilio failed/.test(line))
  expect(warnings).toHaveLength(1)
  expect(warnings[0]).toMatch(/20429|Too Many Requests/)
  expect(front.count(LIST)).toBeGreaterThanOrEqual(9)

  const waiting = waitFromAlice(server)
  const { sid } = await front.simulateInbound(ALICE, "after the storm")
  expect((await waiting).messages.map((m: any) => m.messageSid)).toEqual([sid])
})

it("a Messaging Service sender without TWILIO_PHONE_NUMBER: replies to its numbers are fetched", async () => {
  const service = await emulator.rest("/messaging/v1/Services", { FriendlyName: "Replies" })
  const numbers = await emulator.rest(`/2010-04-01/Accounts/${ACCOUNT_SID}/IncomingPhoneNumbers.json`)
  await emulator.rest(`/messaging/v1/Services/${service.sid}/PhoneNumbers`, { PhoneNumberSid: numbers.incoming_phone_numbers[0].sid })
  const { TWILIO_PHONE_NUMBER: _, ...withoutNumber } = env
  env = { ...withoutNumber, TWILIO_MESSAGING_SERVICE_SID: service.sid }
  const server = await startServer()
  const waiting = waitFromAlice(server)
  const { sid } = await front.simulateInbound(ALICE, "via the service")
  expect(await waiting).toMatchObject({ status: "reply", messages: [{ messageSid: sid, body: "via the service" }] })
})
