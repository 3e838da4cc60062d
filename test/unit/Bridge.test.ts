import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { listTools } from "../../src/mcp/Bridge.js"
import { toolJsonSchema } from "../../src/mcp/JsonSchema.js"
import { sandboxTools, tools } from "../../src/mcp/tools/index.js"
import { TwilioApiError } from "../../src/twilio/TwilioErrors.js"
import { TestLayer } from "../support/TestLayer.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { alice, bob, callTool, expectNothingSentOrStored, ours, receive, snapshot } from "./support.js"

type Json = { readonly [key: string]: unknown }

/** Every tool either mode offers (sandbox mode adds some): the schema rules hold for all of them. */
const listed = listTools([...new Set([...tools, ...sandboxTools])])

const toolNamed = (name: string) => {
  const tool = listed.find((t) => t.name === name)
  return tool ?? expect.fail(`no tool ${name}`)
}

/** Every [key, value, path] in a JSON value, depth first. */
const entries = (node: unknown, path: Array<string> = []): Array<readonly [string, unknown, string]> => {
  if (node === null || typeof node !== "object") return []
  return Object.entries(node).flatMap(([key, value]) => {
    const here = [...path, key]
    return [[key, value, here.join(".")] as const, ...entries(value, here)]
  })
}

/** The schema at `properties.<name>` of a tool's input schema. */
const inputProperty = (tool: string, name: string) =>
  ((toolNamed(tool).inputSchema as Json).properties as Record<string, Json>)[name]

/** The validator MCP SDK clients run on `structuredContent` (ajv with formats). */
const validator = new AjvJsonSchemaValidator()

const apiReference = ["send_sms", "get_inbound_messages", "create_conversation", "get_conversation_thread", "get_message_status"]

const schemas = listed.flatMap((t) => [[`${t.name} input`, t.inputSchema], [`${t.name} output`, t.outputSchema]] as const)

class Contact extends Schema.Class<Contact>("Contact")({ phone: Schema.String.annotations({ identifier: "Phone" }) }) {}

describe("toolJsonSchema", () => {
  it("turns an empty Struct (a tool without parameters) into an empty object, not anyOf object|array", () => {
    expect(toolJsonSchema(Schema.Struct({}), "input")).toEqual({ type: "object", properties: {}, additionalProperties: false })
    expect(toolJsonSchema(Schema.Struct({}), "output")).toEqual({ type: "object", properties: {} })
  })

  it("inlines identified and class schemas instead of referencing $defs", () => {
    const json = toolJsonSchema(Schema.Struct({ contact: Contact, backup: Schema.optional(Contact) }), "input")
    expect(entries(json).filter(([key]) => key.startsWith("$")).map(([, , path]) => path)).toEqual([])
    expect(json).toMatchObject({
      type: "object",
      properties: { contact: { type: "object", properties: { phone: { type: "string" } } } }
    })
    expect((json.properties as Json).backup).toEqual((json.properties as Json).contact)
  })
})

describe("tools/list schemas", () => {
  it("offers the five tools of the API reference, each once, described", () => {
    const names = listed.map((t) => t.name)
    expect(names).toEqual(expect.arrayContaining(apiReference))
    expect(new Set(names).size).toBe(names.length)
    for (const tool of listed) expect(tool.description.trim()).not.toBe("")
  })

  it.each(schemas)("%s is a plain top-level object", (_, schema) => {
    const json = schema as Json
    expect(json.type).toBe("object")
    expect(json).not.toHaveProperty("anyOf")
    expect(json).not.toHaveProperty("oneOf")
    expect(json).not.toHaveProperty("allOf")
  })

  it.each(schemas)("%s has no $ref, $defs, $schema or $id anywhere", (_, schema) => {
    const offending = entries(schema).filter(([key, value]) =>
      ["$ref", "$defs", "definitions", "$schema", "$id"].includes(key) || (typeof value === "string" && value.startsWith("#/"))
    )
    expect(offending.map(([, , path]) => path)).toEqual([])
  })

  it.each(schemas)("%s names properties within ^[a-zA-Z0-9_.-]{1,64}$", (_, schema) => {
    const names = entries({ root: schema })
      .filter(([key, value]) => key === "properties" && value !== null && typeof value === "object")
      .flatMap(([, value]) => Object.keys(value as Json))
    expect(names.filter((n) => !/^[a-zA-Z0-9_.-]{1,64}$/.test(n))).toEqual([])
  })

  it.each(schemas)("%s compiles as JSON Schema", (_, schema) => {
    expect(() => validator.getValidator(schema as never)).not.toThrow()
  })

  it("input schemas reject unknown properties", () => {
    for (const tool of listed) expect((tool.inputSchema as Json).additionalProperties).toBe(false)
  })

  it("shows the limits a client needs", () => {
    expect(inputProperty("send_sms", "message")).toMatchObject({ type: "string", maxLength: 1600 })
    // WhatsApp (issue 23): to may be whatsapp:+E.164, and a template (contentSid) replaces message.
    expect(inputProperty("send_sms", "to")).toMatchObject({ type: "string", pattern: "^(whatsapp:)?\\+[1-9]\\d{1,14}$" })
    expect((toolNamed("send_sms").inputSchema as Json).required).toEqual(["to"])
    expect(inputProperty("send_sms", "mediaUrls")).toMatchObject({ type: "array", maxItems: 10 })
    expect(inputProperty("get_inbound_messages", "limit")).toMatchObject({ type: "integer", minimum: 1, maximum: 1000 })
    expect(inputProperty("get_conversation_thread", "limit")).toMatchObject({ minimum: 1, maximum: 500 })
    expect(inputProperty("create_conversation", "participants")).toMatchObject({ type: "array", minItems: 2, maxItems: 20 })
    expect(inputProperty("get_message_status", "messageSid")).toMatchObject({ pattern: "^(SM|MM)[0-9a-fA-F]{32}$" })
  })

  it("drops Effect's generated titles and descriptions", () => {
    const descriptions = entries(schemas.map(([, schema]) => schema))
      .filter(([key, value]) => key === "description" && typeof value === "string")
      .map(([, value]) => value as string)
    expect(descriptions.filter((d) => /character\(s\)|item\(s\)|^an? (string|number|integer|array)\b/.test(d))).toEqual([])
    // A "title" key is a generated title unless it is the name of a property.
    const titles = entries(schemas.map(([, schema]) => schema))
      .filter(([key, , path]) => key === "title" && !path.endsWith(".properties.title"))
    expect(titles.map(([, , path]) => path)).toEqual([])
  })
})

const textOf = (result: CallToolResult) =>
  result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n")

/** A failed call: `isError` and a message; returns the message. */
const expectToolError = (result: CallToolResult) => {
  expect(result.isError).toBe(true)
  expect(result).not.toHaveProperty("structuredContent")
  return textOf(result)
}

/**
 * A successful call: its structuredContent passes the tool's advertised output schema (as an SDK client
 * checks it), has no field the schema does not list, and the text content is the same JSON.
 */
const expectToolResult = (name: string, result: CallToolResult) => {
  expect(result.isError, textOf(result)).toBeFalsy()
  const schema = toolNamed(name).outputSchema as Json
  const check = validator.getValidator(schema as never)(result.structuredContent)
  expect(check.errorMessage).toBeUndefined()
  expect(check.valid).toBe(true)
  expect(Object.keys(result.structuredContent ?? {}).filter((k) => !(k in (schema.properties as Json)))).toEqual([])
  expect(JSON.parse(textOf(result))).toEqual(result.structuredContent)
  return result.structuredContent as Record<string, unknown>
}

/** Whether the tool's advertised input schema accepts `args`: the decoder and the schema must agree. */
const inputSchemaAccepts = (name: string, args: unknown) =>
  validator.getValidator(toolNamed(name).inputSchema as never)(args ?? {}).valid

/** A call with valid arguments (the advertised input schema accepts them too); returns its structuredContent. */
const callOk = (name: string, args: unknown) => {
  expect(inputSchemaAccepts(name, args), `${name} input schema rejects ${JSON.stringify(args)}`).toBe(true)
  return Effect.map(callTool(name, args), (result) => expectToolResult(name, result))
}

/** A call with bad arguments (the advertised input schema rejects them too); returns the error text. */
const callRejected = (name: string, args: unknown) => {
  expect(inputSchemaAccepts(name, args), `${name} input schema accepts ${JSON.stringify(args)}`).toBe(false)
  return Effect.map(callTool(name, args), expectToolError)
}

describe("tools/call", () => {
  it.effect("every tool's result validates against its output schema", () =>
    Effect.gen(function*() {
      const sent = yield* callOk("send_sms", { to: alice, message: "Hello from Twilio MCP!" })
      expect(sent).toMatchObject({ status: "queued", to: alice, from: ours })
      const status = yield* callOk("get_message_status", { messageSid: sent.messageSid })
      expect(status).toMatchObject({ messageSid: sent.messageSid, status: "queued" })
      yield* receive(alice, { body: "Hey, got your message!" })
      const inbound = yield* callOk("get_inbound_messages", { from: alice, limit: 10 })
      expect(inbound).toMatchObject({ totalCount: 1, messages: [{ body: "Hey, got your message!", conversationId: sent.conversationId }] })
      const thread = yield* callOk("get_conversation_thread", { conversationId: sent.conversationId, includeContext: true })
      expect(thread).toMatchObject({ hasMore: false, context: { messageCount: 2, awaitingReply: true } })
      const created = yield* callOk("create_conversation", { participants: [alice, bob], metadata: { ticketId: "T-123" } })
      expect(created).toMatchObject({ alreadyExisted: false, metadata: { ticketId: "T-123" } })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an undelivered status carries errorCode and errorMessage through the output schema", () =>
    Effect.gen(function*() {
      const sent = yield* callOk("send_sms", { to: alice, message: "hi" })
      yield* Effect.flatMap(TwilioMemory, (t) => t.setStatus(String(sent.messageSid), "undelivered", 30003))
      const status = yield* callOk("get_message_status", { messageSid: sent.messageSid })
      expect(status).toMatchObject({ status: "undelivered", errorCode: 30003, errorMessage: "Unreachable destination handset" })
    }).pipe(Effect.provide(TestLayer())))

  it.effect("bad arguments are an isError result naming each field", () =>
    Effect.gen(function*() {
      const text = yield* callRejected("send_sms", { to: "555-1234", message: "" })
      expect(text).toContain("send_sms")
      expect(text).toMatch(/\bto: must be an E\.164 phone number/)
      expect(text).toMatch(/\bmessage: must not be empty/)
      const tooLong = yield* callRejected("send_sms", { to: alice, message: "x".repeat(1601) })
      expect(tooLong).toMatch(/\bmessage: must be at most 1600 characters/)
      const missing = yield* callRejected("send_sms", {})
      expect(missing).toMatch(/\bto: /)
      expect(yield* callTool("send_sms", { to: alice })).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/\bmessage: give exactly one of message or contentSid/) }] })
      expect(yield* callRejected("create_conversation", { participants: [alice, "bob"] })).toContain("participants.1")
      expect(yield* callRejected("get_inbound_messages", { limit: 0 })).toMatch(/\blimit: must be between 1 and 1000/)
      expect(yield* callRejected("get_inbound_messages", { limit: 2.5 })).toMatch(/\blimit: /)
      expect(yield* callRejected("get_message_status", { messageSid: "SM123" })).toMatch(/\bmessageSid: /)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an unknown tool is an isError result listing the tools", () =>
    Effect.gen(function*() {
      const text = expectToolError(yield* callTool("send_fax", {}))
      expect(text).toContain("send_fax")
      for (const tool of tools) expect(text).toContain(tool.name)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("an excess property is an isError result naming it", () =>
    Effect.gen(function*() {
      const text = yield* callRejected("send_sms", { to: alice, message: "hi", priority: "high" })
      expect(text).toContain("priority")
      expect(text).toContain("is not a parameter")
      expect(yield* Effect.flatMap(TwilioMemory, (t) => t.sent)).toEqual([])
    }).pipe(Effect.provide(TestLayer())))

  it.effect("missing arguments are treated as {}", () =>
    Effect.gen(function*() {
      expectToolResult("get_inbound_messages", yield* callTool("get_inbound_messages", undefined))
      expect(expectToolError(yield* callTool("get_message_status", undefined))).toContain("messageSid")
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a domain failure is an isError result with the error's message", () =>
    Effect.gen(function*() {
      const conversationId = "00000000-0000-4000-8000-000000000000"
      const text = expectToolError(yield* callTool("send_sms", { to: alice, message: "hi", conversationId }))
      expect(text).toContain(`Conversation ${conversationId} not found`)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a failed call leaves the database unchanged", () =>
    Effect.gen(function*() {
      yield* callOk("send_sms", { to: alice, message: "first" })
      const before = yield* snapshot
      yield* Effect.flatMap(TwilioMemory, (t) =>
        t.failNext(new TwilioApiError({ operation: "send", httpStatus: 400, code: 21211, detail: "Invalid 'To' Phone Number" })))
      const failures = [
        yield* callTool("send_sms", { to: bob, message: "refused by Twilio" }),
        yield* callTool("send_sms", { to: bob, message: "bad args", extra: true }),
        yield* callTool("send_sms", { to: bob, message: "not ours", from: bob }),
        yield* callTool("create_conversation", { participants: [alice, alice] }),
        yield* callTool("get_conversation_thread", { conversationId: "not-a-uuid" })
      ]
      for (const result of failures) expectToolError(result)
      expect(yield* snapshot).toEqual(before)
    }).pipe(Effect.provide(TestLayer())))

  it.effect("a rejected first call leaves an empty database", () =>
    Effect.gen(function*() {
      yield* callRejected("send_sms", { to: "+1", message: "hi" })
      yield* expectNothingSentOrStored
    }).pipe(Effect.provide(TestLayer())))
})
