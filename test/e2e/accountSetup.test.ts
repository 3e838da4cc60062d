/**
 * The account through Twilio's API, against the emulator (issue 21): `configure-webhooks` sets the number's or the
 * Messaging Service's inbound URL; `check` reports a trial account, the number's capability, how replies
 * arrive, webhook drift and A2P 10DLC.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest"
import { ACCOUNT_SID, OUR_NUMBER, startEmulator, type TwilioEmulator } from "../support/Emulator.js"
import { freePort } from "../support/ports.js"
import { type Env, exitWithin, serverEnv, spawnServer, stopAll, tempDir } from "../support/ServerProcess.js"
import { startTwilioFront, type TwilioFront } from "../support/TwilioFront.js"

const PUBLIC = "https://hooks.example.test"
const WANTED = `${PUBLIC}/webhooks/twilio/sms`
const LOCAL = "http://127.0.0.1:9/webhooks/twilio/sms"

let dir: string
let emulator: TwilioEmulator
let front: TwilioFront
let env: Env

beforeAll(() => {
  dir = tempDir()
})
beforeEach(async () => {
  // A fresh account each test: the number's webhook points at a local URL, as after a Console setup for ngrok.
  emulator = await startEmulator("http://127.0.0.1:9")
  front = await startTwilioFront(emulator)
  env = { ...serverEnv({ twilioUrl: front.url, webhookPort: await freePort(), databasePath: path.join(dir, "twilio.db") }), WEBHOOK_BASE_URL: PUBLIC }
})
afterEach(async () => {
  await stopAll()
  await front.close()
  await emulator.close()
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const run = async (args: ReadonlyArray<string>, extra: Env = {}, command = "configure-webhooks") => {
  const server = spawnServer({ ...env, ...extra }, [command, ...args], dir)
  const exit = await exitWithin(server, 20_000)
  return { code: exit.code, stdout: server.stdout.text(), stderr: server.stderr.text() }
}

const numbersPath = `/2010-04-01/Accounts/${ACCOUNT_SID}/IncomingPhoneNumbers`
const ourNumber = async () => (await emulator.rest(`${numbersPath}.json?PhoneNumber=${encodeURIComponent(OUR_NUMBER)}`)).incoming_phone_numbers[0]
const updates = () => front.count(/^POST \/(2010-04-01\/Accounts\/AC\w+\/IncomingPhoneNumbers\/|messaging\/v1\/Services\/MG)/)

/** A Messaging Service holding OUR_NUMBER, its inbound URL `url`. */
const serviceWithOurNumber = async (url?: string) => {
  const service = await emulator.rest("/messaging/v1/Services", { FriendlyName: "Replies", ...(url === undefined ? {} : { InboundRequestUrl: url }) })
  await emulator.rest(`/messaging/v1/Services/${service.sid}/PhoneNumbers`, { PhoneNumberSid: (await ourNumber()).sid })
  return service.sid as string
}

it("shows the number's webhook and what it sets; --dry-run changes nothing; a second run is a no-op", async () => {
  const dry = await run(["--dry-run"])
  expect(dry.code, dry.stderr).toBe(0)
  expect(dry.stdout).toContain(`${OUR_NUMBER} (`)
  expect(dry.stdout).toContain(`messaging webhook ${LOCAL} (POST)`)
  expect(dry.stdout).toContain(`would set ${OUR_NUMBER}'s messaging webhook to ${WANTED} (POST); nothing changed (--dry-run)`)
  expect((await ourNumber()).sms_url).toBe(LOCAL)
  expect(updates()).toBe(0)

  const first = await run([])
  expect(first.code, first.stderr).toBe(0)
  expect(first.stdout).toContain(`set ${OUR_NUMBER}'s messaging webhook to ${WANTED} (POST)`)
  expect(await ourNumber()).toMatchObject({ sms_url: WANTED, sms_method: "POST" })
  expect(updates()).toBe(1)

  const second = await run([])
  expect(second.code, second.stderr).toBe(0)
  expect(second.stdout).toContain(`messaging webhook is already ${WANTED} (POST): nothing to change`)
  expect(updates()).toBe(1)
})

it("a number in a Messaging Service whose inbound URL wins: sets the service's URL and says why", async () => {
  const serviceSid = await serviceWithOurNumber("https://old.example.test/sms")
  const result = await run([])
  expect(result.code, result.stderr).toBe(0)
  expect(result.stdout).toContain(`Messaging Service ${serviceSid} "Replies": inbound request URL https://old.example.test/sms (POST)`)
  expect(result.stdout).toMatch(/useInboundWebhookOnNumber/)
  expect(result.stdout).toContain(`set the service's inbound request URL to ${WANTED} (POST)`)
  expect((await emulator.rest(`/messaging/v1/Services/${serviceSid}`)).inbound_request_url).toBe(WANTED)
  expect((await ourNumber()).sms_url).toBe(LOCAL)

  // Configured by its SID (TWILIO_MESSAGING_SERVICE_SID): the same service, already set.
  const again = await run([], { TWILIO_MESSAGING_SERVICE_SID: serviceSid })
  expect(again.stdout).toContain("is already")
})

it("a Messaging Service that defers to its numbers' webhooks: the number's URL is set", async () => {
  const serviceSid = await serviceWithOurNumber()
  front.setUseInboundWebhookOnNumber(serviceSid, true)
  const result = await run([])
  expect(result.code, result.stderr).toBe(0)
  expect((await ourNumber()).sms_url).toBe(WANTED)
  expect((await emulator.rest(`/messaging/v1/Services/${serviceSid}`)).inbound_request_url).toBeNull()
})

it.each([
  ["http://hooks.example.test", /not https/],
  ["https://127.0.0.1:3000", /127\.0\.0\.1 is a loopback or private address/],
  ["https://localhost", /localhost is a loopback or private address/],
  ["https://192.168.1.20", /private address/]
])("refuses WEBHOOK_BASE_URL %s with the reason, changing nothing", async (url, reason) => {
  const result = await run([], { WEBHOOK_BASE_URL: url })
  expect(result.code).toBe(1)
  expect(result.stderr).toMatch(/Nothing changed/)
  expect(result.stderr).toMatch(reason)
  expect(result.stdout).toBe("")
  expect(front.requests()).toEqual([])
})

it("refuses a number the account does not have", async () => {
  const result = await run([], { TWILIO_PHONE_NUMBER: "+15550009999" })
  expect(result.code).toBe(1)
  expect(result.stderr).toContain("+15550009999 is not a phone number of this Twilio account")
  expect(updates()).toBe(0)
})

/** `check`'s output: its exit code, and its line for `name` ("ok  " or "FAIL", then the detail). */
const check = async (extra: Env = {}) => {
  const result = await run([], extra, "check")
  const line = (name: string) => result.stdout.split("\n").find((l) => l.slice(5).startsWith(`${name}:`)) ?? `(no ${name} line)\n${result.stdout}`
  return { code: result.code, line }
}

it("check: a trial account, and the number's webhook drifting from this server until configure-webhooks", async () => {
  front.setAccountType("Trial")
  const before = await check()
  expect(before.code).toBe(1)
  expect(before.line("account type")).toMatch(/^ok {3}account type: trial account: it sends only to verified numbers \(others fail with error 21608\)/)
  expect(before.line("inbound webhook URL")).toBe(
    `FAIL inbound webhook URL: ${OUR_NUMBER} sends inbound SMS to ${LOCAL}, not to this server: run configure-webhooks (or set ${WANTED}, HTTP POST, in the Console)`
  )
  expect(before.line("inbound")).toMatch(/^ok {3}inbound: by Twilio's webhook to .*: no polling \(0 API requests an hour for replies\)$/)

  expect((await run([])).code).toBe(0)
  expect((await check()).line("inbound webhook URL")).toBe(`ok   inbound webhook URL: ${OUR_NUMBER} sends inbound SMS to ${WANTED}`)
})

it("check: a number without SMS capability", async () => {
  front.setCapabilities(OUR_NUMBER, { sms: false, mms: false })
  const result = await check()
  expect(result.code).toBe(1)
  expect(result.line("number capabilities")).toMatch(new RegExp(`^FAIL number capabilities: \\${OUR_NUMBER} has no SMS capability`))
})

it("check without a public URL: replies are fetched, at what cost; no webhook port needed", async () => {
  const { WEBHOOK_BASE_URL: _url, ...local } = env
  const server = spawnServer({ ...local, INBOUND: "auto" }, ["check"], dir)
  await exitWithin(server, 20_000)
  const lines = server.stdout.text()
  expect(lines).toMatch(/^ok {3}inbound: fetched from Twilio, no public URL needed: every 2 s while a wait_for_reply is active or for 3 minutes after a send \(about 1800 API requests an hour then\), every 60 s otherwise \(about 60 an hour\)/m)
  expect(lines).toMatch(/^ok {3}webhook port: nothing listens on .*; not needed: replies are fetched from Twilio$/m)
  expect(lines).toMatch(new RegExp(`^ok {3}inbound webhook URL: \\${OUR_NUMBER} also sends inbound SMS to ${LOCAL.replaceAll(".", "\\.")}; replies are fetched from Twilio either way$`, "m"))
  expect(lines).not.toMatch(/^FAIL/m)
})

it("check: a Messaging Service sender's A2P 10DLC campaign, when Twilio reports one", async () => {
  const serviceSid = await serviceWithOurNumber(WANTED)
  front.setA2pCampaigns(serviceSid, ["IN_PROGRESS"])
  const pending = await check()
  expect(pending.line("A2P 10DLC")).toMatch(new RegExp(`^FAIL A2P 10DLC: Messaging Service ${serviceSid}'s US A2P 10DLC campaign is IN_PROGRESS: texts to US numbers fail with 30034`))
  expect(pending.line("inbound webhook URL")).toBe(`ok   inbound webhook URL: Messaging Service ${serviceSid} sends inbound SMS to ${WANTED}`)
  front.setA2pCampaigns(serviceSid, ["VERIFIED"])
  expect((await check()).line("A2P 10DLC")).toMatch(/^ok {3}A2P 10DLC: .* is VERIFIED$/)
})
