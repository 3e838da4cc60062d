import * as fs from "node:fs"
import * as path from "node:path"
import { databaseUrlFor, onPostgres } from "./Dialect.js"
import { startEmulator, type TwilioEmulator } from "./Emulator.js"
import { type McpProcess, startMcp, type Transport } from "./McpProcess.js"
import { freePort } from "./ports.js"
import { type Env, serverEnv, stopAll, tempDir } from "./ServerProcess.js"

/** One emulator, one webhook port, one database file: what a test file's servers share. */
export interface Stack {
  readonly emulator: TwilioEmulator
  readonly webhookPort: number
  readonly dir: string
  readonly databasePath: string
  /** The environment of a server on this stack. */
  readonly env: Env
  /** Stops every spawned server, then the emulator, then removes the directory. */
  readonly close: () => Promise<void>
}

/**
 * `authToken`: the account's TWILIO_AUTH_TOKEN, when a test needs one of its own; `moreNumbers`: numbers the
 * account owns besides OUR_NUMBER (see startEmulator).
 */
export const startStack = async (options: { readonly authToken?: string; readonly moreNumbers?: ReadonlyArray<string> } = {}): Promise<Stack> => {
  const webhookPort = await freePort()
  const emulator = await startEmulator(`http://127.0.0.1:${webhookPort}`, options.authToken, options.moreNumbers)
  const dir = tempDir()
  const databasePath = path.join(dir, "twilio.db")
  return {
    emulator,
    webhookPort,
    dir,
    databasePath,
    // On PostgreSQL, a database of the stack's own, as its own file on SQLite (test/support/Dialect.ts).
    env: {
      ...serverEnv({ twilioUrl: emulator.url, webhookPort, databasePath }),
      ...(options.authToken === undefined ? {} : { TWILIO_AUTH_TOKEN: options.authToken }),
      ...(onPostgres ? { DATABASE_URL: await databaseUrlFor(databasePath) } : {})
    },
    close: async () => {
      await stopAll()
      await emulator.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * A stack with one MCP server on it, talked to over `transport`, once that server's webhook server listens
 * (over stdio it starts after the handshake).
 */
export const startStackWithServer = async (transport: Transport = "stdio"): Promise<{ stack: Stack; server: McpProcess }> => {
  const stack = await startStack()
  const server = await startMcp(stack.env, stack.dir, [], transport)
  await server.stderr.waitForLine(/webhooks listening/)
  return { stack, server }
}
