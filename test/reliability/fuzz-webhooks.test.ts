/**
 * Property-based testing of the webhook endpoints over real HTTP (the harness's in-process server):
 * arbitrary forms — dropped, changed, repeated and unknown parameters, prototype-named keys, giant values,
 * bad percent-encoding, invalid UTF-8 bytes, odd query strings and content types, forged or missing
 * signatures — always get exactly the status an independent model of the rules predicts: 415, 413, 403,
 * 400 or the TwiML 200, never a 5xx. A 200 means stored; anything else stores nothing.
 */
import { expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import twilio from "twilio"
import { TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_PHONE } from "../support/TestLayer.js"
import {
  ALICE,
  countEvents,
  countRows,
  EMPTY_TWIML,
  expectNoLeak,
  FORM,
  inboundParams,
  postForm,
  serverLayer,
  SMS_PATH,
  STATUS_PATH,
  statusParams,
  stored as storedMessage
} from "../webhooks/harness.js"
import { edgeStrings } from "./support.js"

const BASE_URL = "https://twilio-mcp.example.test"

type Pairs = ReadonlyArray<readonly [string, string]>

/**
 * The model: the parameters as a correct urlencoded parser sees the bytes (invalid UTF-8 replaced, as the
 * server's decoder does), a repeated name giving an array, every name an own property.
 */
const modelForm = (body: Uint8Array): Record<string, string | Array<string>> => {
  const grouped = new Map<string, Array<string>>()
  for (const [key, value] of new URLSearchParams(new TextDecoder().decode(body))) grouped.set(key, [...(grouped.get(key) ?? []), value])
  return Object.fromEntries([...grouped].map(([key, values]) => [key, values.length === 1 ? values[0]! : values]))
}

type Signing = "valid" | "none" | "empty" | "garbage" | "other token" | "other URL" | "tampered"

interface Case {
  readonly path: string
  readonly pairs: Pairs
  /** Raw text appended after `&`: bad percent-encoding the form encoder would never produce. */
  readonly rawSuffix: string
  /** Bytes appended after the text: invalid UTF-8. */
  readonly rawBytes: ReadonlyArray<number>
  readonly query: string
  readonly contentType: string
  readonly signing: Signing
}

const bodyOf = (c: Case): Uint8Array => {
  const text = new URLSearchParams(c.pairs as Array<[string, string]>).toString() + (c.rawSuffix === "" ? "" : `&${c.rawSuffix}`)
  return new Uint8Array([...Buffer.from(text, "utf8"), ...c.rawBytes])
}

const signatureFor = (c: Case, form: Record<string, string | Array<string>>): string | null => {
  const url = BASE_URL + c.path + c.query
  switch (c.signing) {
    case "none":
      return null
    case "empty":
      return ""
    case "garbage":
      return "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=="
    case "other token":
      return twilio.getExpectedTwilioSignature("another-auth-token-0123456789abcdef", url, form)
    case "other URL":
      return twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, `https://evil.example${c.path}${c.query}`, form)
    case "tampered":
      return twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, url, { ...form, Body: `${String(form.Body ?? "")}!` })
    case "valid":
      return twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, url, form)
  }
}

// The model's own statement of the rules: Twilio's fields (TWILIO-FACTS, Twilio's docs) and the README's
// limits, written here rather than taken from the server's schemas, so the two can disagree.

/** README: a webhook body over 64 KiB is refused with 413. */
const MAX_BODY = 64 * 1024

type Form = Record<string, string | Array<string>>

/** A field Twilio sends once: a repeated one is not Twilio's. */
const one = (form: Form, name: string) => (typeof form[name] === "string" ? (form[name] as string) : undefined)
const present = (form: Form, name: string) => Object.prototype.hasOwnProperty.call(form, name)
const isSid = (prefix: string) => (v: string | undefined) => v !== undefined && new RegExp(`^(${prefix})[0-9a-fA-F]{32}$`).test(v)
/** An address (E.164, short code, alphanumeric, whatsapp:…): up to 128 characters, not blank. */
const isAddress = (v: string | undefined) => v !== undefined && v.trim().length >= 1 && v.trim().length <= 128
/** A count in decimal digits, at most `max`. */
const isCount = (max: number) => (v: string | undefined) => v !== undefined && /^\d{1,4}$/.test(v) && Number(v) <= max
/** Where a field is optional it may be absent, but not repeated and not malformed. */
const optional = (form: Form, name: string, valid: (v: string | undefined) => boolean) => !present(form, name) || valid(one(form, name))

const messageStatuses = [
  "accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled",
  "partially_delivered", "read", "receiving", "received"
]

const inboundFieldsValid = (form: Form) =>
  isSid("SM|MM")(one(form, "MessageSid")) &&
  isAddress(one(form, "From")) &&
  isAddress(one(form, "To")) &&
  optional(form, "Body", (v) => v !== undefined && v.length <= 10_000) &&
  optional(form, "NumMedia", isCount(10)) &&
  optional(form, "NumSegments", isCount(1000)) &&
  optional(form, "MessagingServiceSid", (v) => v !== undefined)

const statusFieldsValid = (form: Form) =>
  isSid("SM|MM")(one(form, "MessageSid")) &&
  messageStatuses.includes(one(form, "MessageStatus") ?? "") &&
  // Twilio sends ErrorCode= (empty) for no code.
  optional(form, "ErrorCode", (v) => v !== undefined && /^\d{0,9}$/.test(v.trim())) &&
  optional(form, "ErrorMessage", (v) => v !== undefined && v.length <= 1000)

/** What the rules say the server must answer: content type, size, signature, account, then the fields. */
const expectedStatus = (c: Case, body: Uint8Array, form: Form): number => {
  if (c.contentType.split(";")[0]!.trim().toLowerCase() !== FORM) return 415
  if (body.length > MAX_BODY) return 413
  if (c.signing !== "valid") return 403
  if (one(form, "AccountSid") !== TEST_ACCOUNT_SID) return 403
  return (c.path === SMS_PATH ? inboundFieldsValid(form) : statusFieldsValid(form)) ? 200 : 400
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

const freshSid = fc.stringMatching(/^(SM|MM)[0-9a-f]{32}$/)
const knownKeys = [
  "MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "MessagingServiceSid", "From", "To", "Body", "NumMedia",
  "NumSegments", "MediaUrl0", "MediaContentType0", "MediaUrl10", "OptOutType", "MessageStatus", "ErrorCode",
  "SmsStatus", "ApiVersion", "AddOns", "FromCity"
]
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...knownKeys) },
  { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "", " ", "MessageSid ") },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }
)
const value = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "", " ", "0", "-1", "10", "11", "1e3", "0x1", "x", ALICE, TEST_PHONE, "12345", "ACME", "whatsapp:+15551234567",
      TEST_ACCOUNT_SID, `AC${"b".repeat(32)}`, `SM${"c".repeat(32)}`, "SM123", "queued", "delivered", "read", "received",
      "exploded", "STOP", "30003", " 5", "007", "%ZZ", "\u0000", "😀", "{\"json\":true}"
    )
  },
  { weight: 1, arbitrary: fc.constantFrom(...edgeStrings) }
)

/** Edits to a genuine form: drop a parameter, change one, repeat one, add one. */
const edit = fc.oneof(
  fc.record({ op: fc.constant("drop" as const), key }),
  fc.record({ op: fc.constant("set" as const), key, value }),
  fc.record({ op: fc.constant("repeat" as const), key, value }),
  fc.record({ op: fc.constant("add" as const), key, value })
)
type Edit = typeof edit extends fc.Arbitrary<infer A> ? A : never

const applyEdit = (pairs: Pairs, e: Edit): Pairs => {
  switch (e.op) {
    case "drop":
      return pairs.filter(([k]) => k !== e.key)
    case "set":
      return [...pairs.filter(([k]) => k !== e.key), [e.key, e.value]]
    case "repeat":
      return [...pairs, [e.key, pairs.find(([k]) => k === e.key)?.[1] ?? e.value]]
    case "add":
      return [...pairs, [e.key, e.value]]
  }
}

const statuses = ["accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "canceled"] as const

const genuine = fc.oneof(
  fc.record({ path: fc.constant(SMS_PATH), sid: freshSid }).map(({ path, sid }) => ({ path, pairs: Object.entries(inboundParams(sid)) as Pairs })),
  fc.record({ path: fc.constant(STATUS_PATH), sid: freshSid, status: fc.constantFrom(...statuses) }).map(({ path, sid, status }) => ({
    path,
    pairs: Object.entries(statusParams(sid, status)) as Pairs
  }))
)

const caseArbitrary: fc.Arbitrary<Case> = fc.record({
  genuine,
  edits: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.array(edit, { minLength: 1, maxLength: 4 }) }),
  rawSuffix: fc.oneof(
    { weight: 4, arbitrary: fc.constant("") },
    { weight: 1, arbitrary: fc.constantFrom("%", "%Z", "Body=%ZZ", "X=%E2%82", "X=%C0%AF", "X=%FF%FE", "X=%00", "=", "==", "&&&", "X", "X=a=b", "%2", "Body=%F0%9F%98") }
  ),
  rawBytes: fc.oneof({ weight: 6, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.constantFrom([0x26, 0x58, 0x3d, 0xff, 0xfe], [0x26, 0x42, 0x6f, 0x64, 0x79, 0x3d, 0xc3]) }),
  query: fc.oneof({ weight: 5, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom("?tenant=a", "?a=%ZZ", "?a=%E2%82&b", "?é=ü", "?a=1&a=2") }),
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constant(FORM) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `${FORM}; charset=UTF-8`,
        "APPLICATION/X-WWW-FORM-URLENCODED",
        `${FORM}junk`,
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x"
      )
    }
  ),
  signing: fc.oneof(
    { weight: 5, arbitrary: fc.constant<Signing>("valid") },
    { weight: 1, arbitrary: fc.constantFrom<Signing>("none", "empty", "garbage", "other token", "other URL", "tampered") }
  )
}).map(({ edits, genuine: g, ...rest }) => ({ ...rest, path: g.path, pairs: edits.reduce(applyEdit, g.pairs) }))

/** `fetch` sends a query's non-ASCII characters percent-encoded: sign the URL the server will see. */
const onTheWire = (c: Case): Case => ({ ...c, query: new URL(`http://x${c.path}${c.query}`).search })

const stored = Effect.all([countRows("messages"), countRows("message_events"), countRows("conversations")])

/** Requests that fail and warn are the point here: keep the test output quiet. */
const quietServer = serverLayer().pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.None)))

layer(quietServer, { excludeTestServices: true })("webhook forms", (it) => {
  it.effect.prop(
    "any form: exactly the predicted 415/413/403/400/200, never a 5xx; 200 stores it, anything else stores nothing",
    [caseArbitrary],
    ([generated]) =>
      Effect.gen(function*() {
        const c = onTheWire(generated)
        const body = bodyOf(c)
        const form = modelForm(body)
        const expected = expectedStatus(c, body, form)
        const before = yield* stored
        const reply = yield* postForm(c.path, c.pairs, {
          query: c.query,
          signature: signatureFor(c, form),
          contentType: c.contentType,
          body: Buffer.from(body)
        })
        expect(reply.status, `${c.signing} ${c.contentType} ${JSON.stringify(form).slice(0, 300)}: ${reply.body}`).toBe(expected)
        expectNoLeak(reply)
        if (reply.status !== 200) {
          expect(yield* stored).toEqual(before)
          return
        }
        expect(reply.contentType).toMatch(/^text\/xml\b/)
        expect(reply.body).toBe(EMPTY_TWIML)
        const sid = form.MessageSid as string
        if (c.path === SMS_PATH) expect((yield* storedMessage(sid)).messageSid).toBe(sid)
        else expect(yield* countEvents(sid)).toBeGreaterThanOrEqual(1)
      }).pipe(Effect.asVoid),
    { fastCheck: { numRuns: 300 } }
  )
})

layer(quietServer, { excludeTestServices: true })("parameters named like Object members", (it) => {
  it.effect("__proto__, constructor and toString are ordinary parameters: the signature holds and they are kept", () =>
    Effect.gen(function*() {
      const messageSid = `SM${"9".repeat(32)}`
      const pairs: Pairs = [...Object.entries(inboundParams(messageSid)), ["__proto__", "a"], ["constructor", "b"], ["toString", "c"]]
      const signature = twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, BASE_URL + SMS_PATH, Object.fromEntries(pairs))
      const reply = yield* postForm(SMS_PATH, pairs, { signature })
      expect(reply.status, reply.body).toBe(200)
      const [row] = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ extra: string }>`SELECT extra FROM messages WHERE sid = ${messageSid}`)
      expect(JSON.parse(row!.extra)).toMatchObject({ ["__proto__"]: "a", constructor: "b", toString: "c" })
    }))
})
