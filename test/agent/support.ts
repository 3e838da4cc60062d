/** Helpers for the issue-4 service tests: tool calls through the bridge (sandbox tool list), inbound texts, waits. */
import { expect } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as TestServices from "effect/TestServices"
import type { AppConfigShape } from "../../src/config/AppConfig.js"
import { Twilio, type TwilioError } from "../../src/twilio/Twilio.js"
import * as Bridge from "../../src/mcp/Bridge.js"
import { Progress } from "../../src/mcp/Progress.js"
import type { Tool } from "../../src/mcp/Tool.js"
import { sandboxTools } from "../../src/mcp/tools/index.js"
import { Ingest } from "../../src/messaging/Ingest.js"
import { Sending, type SendInput } from "../../src/messaging/Sending.js"
import { makeTestLayer, testConfig, type TestLayer } from "../support/TestLayer.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { messageSid, ours } from "../unit/support.js"

export type AppServices = Layer.Layer.Success<ReturnType<typeof TestLayer>>

/**
 * TestLayer whose Twilio send takes an async turn first, as a real HTTP request does: concurrent sends then
 * really interleave (the in-memory Twilio and SQLite are otherwise synchronous, so fibers run one after another).
 */
export const AsyncSendLayer = (overrides: Partial<AppConfigShape> = {}) =>
  makeTestLayer(
    testConfig(overrides),
    Layer.map(TwilioMemory.layer, (context) => {
      const twilio = Context.get(context, Twilio)
      return Context.add(context, Twilio, { ...twilio, send: (request) => Effect.zipRight(Effect.yieldNow(), twilio.send(request)) })
    })
  )

export const text = (result: CallToolResult) =>
  result.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n")

/** One `tools/call` as the MCP server runs it, over every tool (simulate_inbound included). */
export const call = (name: string, args: unknown, progress = Progress.none): Effect.Effect<CallToolResult, never, AppServices> =>
  Bridge.callTool(sandboxTools as ReadonlyArray<Tool<any>>, name, args, progress)

/** A call that must succeed: its structuredContent. */
export const callOk = (name: string, args: unknown) =>
  Effect.map(call(name, args), (result): any => {
    expect(result.isError, text(result)).toBeFalsy()
    return result.structuredContent
  })

/** A call that must fail as a tool result (isError): its text. */
export const callError = (name: string, args: unknown) =>
  Effect.map(call(name, args), (result) => {
    expect(result.isError, `${name} should have failed: ${text(result)}`).toBe(true)
    return text(result)
  })

let counter = 0

/** A text from `from` to our number, stored as the SMS webhook stores it; `sid` repeats a delivery. */
export const inbound = (
  from: string,
  body: string,
  options: {
    readonly sid?: string
    readonly extra?: Record<string, string>
    readonly to?: string
    readonly messagingServiceSid?: string
  } = {}
) =>
  Effect.flatMap(Ingest, (m) => {
    const sid = options.sid ?? messageSid(0x40000 + ++counter)
    const { extra = {}, messagingServiceSid, to = ours } = options
    return Effect.map(
      m.inbound({ sid, from: from as never, to: to as never, body, media: [], extra, messagingServiceSid }),
      (result) => ({ ...result, sid })
    )
  })

/** Messaging.send with a default text. */
export const sendSms = (input: Omit<SendInput, "message"> & { readonly message?: string }) =>
  Effect.flatMap(Sending, (m) => m.send({ message: "hello", ...input }))

export const sentByTwilio = Effect.flatMap(TwilioMemory, (t) => t.sent)

/** A send to `to` that must fail without reaching Twilio: its error. */
export const refusedSend = (to: string) =>
  Effect.gen(function*() {
    const before = yield* sentByTwilio
    const error = yield* Effect.flip(sendSms({ to: to as never }))
    expect(yield* sentByTwilio).toEqual(before)
    return error
  })

export const failNext = (error: TwilioError) => Effect.flatMap(TwilioMemory, (t) => t.failNext(error))

export interface ProgressReport {
  readonly progress: number
  readonly total: number
  readonly message: string
}

/** A Progress that records every report. */
export const recordingProgress = Effect.map(Ref.make<ReadonlyArray<ProgressReport>>([]), (reports) => ({
  progress: Progress.of({ report: (progress, total, message) => Ref.update(reports, (all) => [...all, { progress, total, message }]) }),
  reports: Ref.get(reports)
}))

/**
 * Joins a fiber running on the TestClock, giving it at most `within` of real time: a wait that was not woken
 * fails the test at once instead of hanging until the test times out.
 */
export const joinWithin = <A, E>(fiber: Fiber.Fiber<A, E>, within: Duration.DurationInput = "2 seconds") =>
  TestServices.provideLive(
    Fiber.join(fiber).pipe(
      Effect.timeoutFail({
        duration: within,
        onTimeout: () => new Error(`still waiting after ${Duration.format(Duration.decode(within))} of real time`)
      })
    )
  )
