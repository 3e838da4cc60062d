import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/**
 * MCP progress notifications for the running tool call. A no-op when the client sent no progressToken.
 * Long waits report progress so clients see the call is alive.
 */
export class Progress extends Context.Tag("twilio-mcp/Progress")<Progress, {
  readonly report: (progress: number, total: number, message: string) => Effect.Effect<void>
}>() {
  static readonly none = Progress.of({ report: () => Effect.void })
}
