/**
 * Property-based input testing of every tool through the MCP bridge (`callTool`, what `tools/call` runs):
 * arbitrary JSON arguments — wrong types, missing and unknown fields, edge strings and numbers, unicode,
 * control characters, huge strings, `__proto__` keys — always give a valid CallToolResult whose structured
 * output passes the MCP client's own validator; an isError carries a readable message and leaves the
 * database exactly as it was. Then every declared bound, at and one past each limit.
 */
import { expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import { type CallToolResult, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as TestClock from "effect/TestClock"
import * as Bridge from "../../src/mcp/Bridge.js"
import type { Tool } from "../../src/mcp/Tool.js"
import { sandboxTools, tools } from "../../src/mcp/tools/index.js"
import { TEST_PHONE, TestLayer } from "../support/TestLayer.js"
import { alice, bob, snapshot } from "../unit/support.js"
import { edgeNumbers, edgeStrings, expectReadableError, HUGE, textOf } from "./support.js"

const allTools = sandboxTools as ReadonlyArray<Tool<any>>
const listed = Bridge.listTools(allTools)
type JsonSchema = { readonly properties?: Record<string, Record<string, unknown>>; readonly required?: ReadonlyArray<string> }
const inputSchema = (name: string) => listed.find((t) => t.name === name)!.inputSchema as JsonSchema

/** The validator the MCP SDK client applies to structuredContent: a mismatch is a client-side error. */
const validators = new AjvJsonSchemaValidator()
const outputValidator = Object.fromEntries(listed.map((t) => [t.name, validators.getValidator(t.outputSchema)]))

/** Placeholders the arbitraries use for "an id that exists"; replaced by a stored one at call time. */
const CONVERSATION = "@existing-conversation"
const MESSAGE = "@existing-message"

const withStoredIds = (wire: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [conversation] = yield* sql<{ id: string }>`SELECT id FROM conversations ORDER BY created_at, id LIMIT 1`
    const [message] = yield* sql<{ sid: string }>`SELECT sid FROM messages ORDER BY id LIMIT 1`
    return wire
      .replaceAll(JSON.stringify(CONVERSATION), JSON.stringify(conversation?.id ?? CONVERSATION))
      .replaceAll(JSON.stringify(MESSAGE), JSON.stringify(message?.sid ?? MESSAGE))
  }).pipe(Effect.orDie)

/**
 * Runs a call to the end under the TestClock: wait_for_reply with valid arguments waits up to 50 s, which
 * the clock is moved through (in half-second steps, at most two minutes) instead of being waited for.
 */
const settle = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.raceFirst(effect, Effect.zipRight(Effect.repeat(TestClock.adjust(Duration.millis(500)), { times: 240 }), Effect.never))

/** The result is what MCP allows, its structured output passes the client's validator, errors are readable. */
const expectValidResult = (name: string, result: CallToolResult) => {
  expect(CallToolResultSchema.safeParse(result).success).toBe(true)
  expect(() => JSON.stringify(result)).not.toThrow()
  if (result.isError === true) {
    // Plain words: no type syntax, brands or schema names (Effect's own formatter shows those).
    expect(textOf(result)).not.toMatch(/Brand<|ReadonlyArray|‹|›|Expected |\{ readonly |Refinement|Transformation/)
    return expectReadableError(textOf(result))
  }
  const validator = outputValidator[name]
  if (validator === undefined) return expect.fail(`${name} is not a listed tool`)
  const verdict = validator(result.structuredContent)
  expect(verdict.valid, verdict.errorMessage).toBe(true)
  expect(textOf(result)).toBe(JSON.stringify(result.structuredContent))
}

/**
 * One `tools/call` with `wire` as the arguments' JSON text (undefined: no arguments): a valid result, and a
 * database unchanged by any call that failed.
 */
const check = (name: string, wire: string | undefined) =>
  Effect.gen(function*() {
    const args = wire === undefined ? undefined : JSON.parse(yield* withStoredIds(wire)) as unknown
    const before = yield* snapshot
    const result = yield* settle(Bridge.callTool(allTools, name, args))
    expectValidResult(name, result)
    if (result.isError === true) expect(yield* snapshot).toEqual(before)
    return result
  })

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

const anyJson = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(...edgeStrings, ...edgeNumbers, null, true, [], {}) }
)
const phone = fc.oneof(
  fc.constantFrom(alice, bob, TEST_PHONE, "+447700900123", "+1", "+0123456", "15551234567", "+1 555 123 4567", "+1555123456789012"),
  fc.stringMatching(/^\+[1-9]\d{1,14}$/)
)
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(...edgeStrings),
  fc.string({ minLength: 1598, maxLength: 1602 })
)
const messageSidish = fc.oneof(
  fc.constant(MESSAGE),
  fc.stringMatching(/^(SM|MM)[0-9a-f]{32}$/),
  fc.constantFrom("SM123", `CA${"1".repeat(32)}`, `sm${"a".repeat(32)}`)
)
const timestamp = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("2025-01-15T10:30:00Z", "2025-01-15", "2025-13-45T99:99:99Z", "yesterday", "0000-01-01T00:00:00Z")
)
const count = fc.oneof(fc.constantFrom(...edgeNumbers), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))

/** Plausible values for each parameter name the tools use; anything else gets arbitrary JSON. */
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  to: phone,
  from: phone,
  participants: fc.oneof(fc.array(phone, { maxLength: 4 }), fc.uniqueArray(fc.stringMatching(/^\+1555\d{7}$/), { maxLength: 22 })),
  message: text,
  body: text,
  query: text,
  conversationId: fc.oneof(fc.constant(CONVERSATION), fc.uuid(), fc.constantFrom("not-a-uuid", "00000000-0000-0000-0000-000000000000")),
  messageSid: messageSidish,
  before: fc.oneof(messageSidish, timestamp),
  since: timestamp,
  limit: count,
  timeoutSeconds: count,
  lookbackHours: count,
  dryRun: fc.boolean(),
  includeContext: fc.boolean(),
  mediaUrls: fc.array(fc.oneof(fc.webUrl(), fc.constantFrom("ftp://x", "https://", "https://a b", `https://x/${"a".repeat(2048)}`)), { maxLength: 12 }),
  metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), fc.jsonValue({ maxDepth: 1 })),
  idempotencyKey: fc.oneof(fc.constantFrom("k1", "k2", "a".repeat(200), "a".repeat(201)), fc.constantFrom(...edgeStrings))
}

const fieldValue = (key: string) => fc.oneof({ weight: 6, arbitrary: plausible[key] ?? anyJson }, { weight: 1, arbitrary: anyJson })

/** Key/value pairs as JSON text, the way they arrive on the wire: a repeated key keeps its last value. */
const objectText = (entries: ReadonlyArray<readonly [string, unknown]>) =>
  `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(",")}}`

/** Arguments for `name`: mostly its own parameters with plausible or wrong values, sometimes anything at all. */
const argumentsFor = (name: string): fc.Arbitrary<string | undefined> => {
  const schema = inputSchema(name)
  const keys = Object.keys(schema.properties ?? {})
  const fields = Object.fromEntries(keys.map((key) => [key, fieldValue(key)]))
  // Usually with the required parameters, so that calls get past "is missing" to the values.
  const own = fc.oneof(
    { weight: 3, arbitrary: fc.record(fields, { requiredKeys: [...(schema.required ?? [])] }) },
    { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) }
  )
  const strayKey = fc.oneof(fc.constantFrom(...keys, "__proto__", "constructor", "toString", ""), fc.string({ maxLength: 10 }))
  const strays = fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(strayKey, anyJson), { minLength: 1, maxLength: 3 }) })
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)) },
    { weight: 8, arbitrary: fc.tuple(own, strays).map(([fields, extra]) => objectText([...Object.entries(fields), ...extra])) }
  )
}

const NUM_RUNS = 100

layer(TestLayer())("every tool, arbitrary arguments", (it) => {
  // Some state first, so ids that exist can be drawn and reads have something to read.
  it.effect("seed: a conversation with a sent and a received message", () =>
    Effect.gen(function*() {
      expect((yield* check("send_sms", JSON.stringify({ to: alice, message: "seed" }))).isError).toBeFalsy()
      expect((yield* check("simulate_inbound", JSON.stringify({ from: alice, body: "seed reply" }))).isError).toBeFalsy()
    }))

  for (const tool of allTools) {
    it.effect.prop(
      `${tool.name}: a valid result; isError readable and nothing written`,
      [argumentsFor(tool.name)],
      ([wire]) => Effect.asVoid(check(tool.name, wire)),
      { fastCheck: { numRuns: NUM_RUNS } }
    )
  }

  it.effect.prop(
    "an unknown tool name: isError naming the available tools",
    [fc.string({ maxLength: 30 }).filter((name) => !allTools.some((t) => t.name === name)), argumentsFor("send_sms")],
    ([name, wire]) =>
      Effect.map(check(name, wire), (result) => {
        expect(result.isError).toBe(true)
        expect(textOf(result)).toMatch(/Unknown tool .*Available tools: send_sms/)
      }),
    { fastCheck: { numRuns: 50 } }
  )

  it.effect("simulate_inbound is not a tool outside the sandbox", () =>
    Effect.gen(function*() {
      const result = yield* Bridge.callTool(tools as ReadonlyArray<Tool<any>>, "simulate_inbound", { from: alice, body: "hi" })
      expect(result.isError).toBe(true)
      expect(textOf(result)).toMatch(/Unknown tool "simulate_inbound"/)
    }))
})

// ---------------------------------------------------------------------------------------------------------
// Every declared bound, at the limit (accepted) and one past it (refused), from the listed JSON schemas.

/** Arguments each tool accepts; a bound case changes one of them. */
const validArgs: Record<string, Record<string, unknown>> = {
  send_sms: { to: alice, message: "hi" },
  get_inbound_messages: {},
  create_conversation: { participants: [alice, bob] },
  get_conversation_thread: { conversationId: CONVERSATION },
  get_message_status: { messageSid: MESSAGE },
  wait_for_reply: { from: alice, timeoutSeconds: 1 },
  list_conversations: {},
  search_messages: { query: "hi" },
  sync_messages: {},
  check_setup: {},
  simulate_inbound: { from: alice, body: "hi" }
}

/** `n` distinct values a list parameter accepts. */
const items = (key: string, n: number) =>
  Array.from({ length: n }, (_, i) => key === "mediaUrls" ? `https://example.com/${i}.jpg` : `+1555${String(i).padStart(7, "0")}`)

interface BoundCase {
  readonly tool: string
  readonly key: string
  readonly value: unknown
  readonly accepted: boolean
  readonly label: string
}

const boundCases = (tool: string): ReadonlyArray<BoundCase> =>
  Object.entries(inputSchema(tool).properties ?? {}).flatMap(([key, p]): ReadonlyArray<BoundCase> => {
    const at = (value: unknown, accepted: boolean, label: string): BoundCase => ({ tool, key, value, accepted, label })
    const cases: Array<BoundCase> = []
    if (typeof p.minimum === "number") cases.push(at(p.minimum, true, "minimum"), at(p.minimum - 1, false, "minimum - 1"))
    if (typeof p.maximum === "number") cases.push(at(p.maximum, true, "maximum"), at(p.maximum + 1, false, "maximum + 1"))
    if (p.type === "integer") cases.push(at(1.5, false, "not an integer"))
    // Length bounds of free text (patterned strings have their own shape).
    if (p.type === "string" && p.pattern === undefined && p.format === undefined) {
      if (typeof p.maxLength === "number") {
        cases.push(at("a".repeat(p.maxLength), true, "maxLength"), at("a".repeat(p.maxLength + 1), false, "maxLength + 1"))
      }
      // Free text is never empty (the minimum is left out of tools/list to keep it small).
      if (typeof p.maxLength === "number") cases.push(at("", false, "empty"))
    }
    if (p.type === "array") {
      if (typeof p.maxItems === "number") cases.push(at(items(key, p.maxItems), true, "maxItems"), at(items(key, p.maxItems + 1), false, "maxItems + 1"))
      if (typeof p.minItems === "number") cases.push(at(items(key, p.minItems - 1), false, "minItems - 1"))
    }
    return cases
  })

/** Text limits counted the way the schemas count (UTF-16 units): astral emoji take two. */
const unicodeCases: ReadonlyArray<BoundCase> = ["send_sms", "simulate_inbound"].flatMap((tool) => {
  const key = tool === "send_sms" ? "message" : "body"
  return [
    { tool, key, value: "é".repeat(1600), accepted: true, label: "1600 accented" },
    { tool, key, value: "😀".repeat(800), accepted: true, label: "800 emoji (1600 UTF-16 units)" },
    { tool, key, value: "😀".repeat(801), accepted: false, label: "801 emoji" },
    { tool, key, value: "\u0000\u0007\u001b[2J\u202e", accepted: true, label: "control and bidi characters" }
  ]
})

const allBoundCases = [...allTools.flatMap((t) => boundCases(t.name)), ...unicodeCases]

layer(TestLayer())("declared bounds", (it) => {
  it.effect("seed", () => Effect.asVoid(check("send_sms", JSON.stringify({ to: alice, message: "seed" }))))

  it.effect("every bounded parameter has cases", () =>
    Effect.sync(() => {
      const covered = new Set(allBoundCases.map((c) => `${c.tool}.${c.key}`))
      for (const name of ["send_sms.message", "send_sms.mediaUrls", "create_conversation.participants", "get_inbound_messages.limit", "wait_for_reply.timeoutSeconds", "sync_messages.lookbackHours", "search_messages.query"]) {
        expect(covered).toContain(name)
      }
    }))

  it.effect.each(allBoundCases)("$tool $key at $label", ({ accepted, key, tool, value }) =>
    Effect.gen(function*() {
      const result = yield* check(tool, JSON.stringify({ ...validArgs[tool], [key]: value }))
      expect(result.isError === true, textOf(result)).toBe(!accepted)
      if (!accepted) expect(textOf(result)).toContain(key)
    }))
})

// ---------------------------------------------------------------------------------------------------------
// Error messages the properties surfaced problems in (src/mcp/Bridge.ts `formatParseError`, tool schemas).

layer(TestLayer())("invalid-argument messages", (it) => {
  const errorText = (name: string, args: unknown) =>
    Effect.map(Bridge.callTool(allTools, name, args), (result) => {
      expect(result.isError).toBe(true)
      return textOf(result)
    })

  // An optional parameter is a union with undefined: its "Expected undefined" issue is dropped.
  it.effect("a bad optional parameter is reported once, without \"Expected undefined\"", () =>
    Effect.map(errorText("send_sms", { to: alice, message: "hi", from: "+0123" }), (text) => {
      expect(text).toMatch(/from: must be an E\.164 phone number/)
      expect(text).not.toMatch(/Expected undefined/)
    }))

  it.effect("an out-of-range limit says the range", () =>
    Effect.forEach(
      [["list_conversations", { limit: 0 }, /limit: must be between 1 and 200/], ["search_messages", { query: "x", limit: 201 }, /limit: must be between 1 and 200/], [
        "sync_messages",
        { lookbackHours: 721 },
        /lookbackHours: must be between 1 and 720/
      ]] as const,
      ([name, args, expected]) => Effect.map(errorText(name, args), (text) => expect(text).toMatch(expected))
    ))

  it.effect("arguments that are not an object: one plain sentence, no type dump", () =>
    Effect.map(errorText("send_sms", "hello"), (text) => {
      expect(text).not.toMatch(/readonly|Brand</)
      expect(text.length).toBeLessThan(300)
    }))

  // Quoted values and unknown keys are clipped: a 100 kB argument gives a short error.
  it.effect("an error stays short whatever the size of the bad value", () =>
    Effect.forEach(
      [["get_inbound_messages", { limit: HUGE }], ["list_conversations", { before: HUGE }], ["send_sms", { to: alice, message: "hi", [HUGE]: 1 }]] as const,
      ([name, args]) => Effect.map(errorText(name, args), (text) => expect(text.length).toBeLessThan(2_000))
    ))
})
