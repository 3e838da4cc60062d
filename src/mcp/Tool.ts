import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"

export interface ToolAnnotations {
  readonly title: string
  readonly readOnlyHint: boolean
  readonly destructiveHint: boolean
  readonly idempotentHint: boolean
  readonly openWorldHint: boolean
}

/** A failure the model can act on: its message is what the tool result says. */
export interface ToolFailure {
  readonly _tag: string
  readonly message: string
}

/**
 * A tool is data: what `tools/list` shows and what `tools/call` runs. The bridge decodes the arguments
 * with `input`, runs `handler`, and encodes the result with `output` into `structuredContent`.
 */
export interface Tool<R = never> {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<any, any>
  readonly output: Schema.Schema<any, any>
  readonly annotations: ToolAnnotations
  readonly handler: (input: any) => Effect.Effect<unknown, ToolFailure, R>
}

/** OAuth scopes of `/mcp`: reading tools need `sms:read`, tools that send or change state `sms:send`. */
export const SCOPES: ReadonlyArray<string> = ["sms:read", "sms:send"]

/** The scope a call to `tool` needs, from its annotations: a read-only tool reads. */
export const scopeOf = (tool: Pick<Tool<any>, "annotations">) => tool.annotations.readOnlyHint ? "sms:read" : "sms:send"

/** Ties a handler's argument and result types to its schemas. */
export const make = <I, IE, O, OE, R>(tool: {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<I, IE>
  readonly output: Schema.Schema<O, OE>
  readonly annotations: ToolAnnotations
  readonly handler: (input: I) => Effect.Effect<O, ToolFailure, R>
}): Tool<R> => tool
