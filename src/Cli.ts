/**
 * The command line, on @effect/cli: every command with its help and its options, one entry in `commands`.
 * main.ts loads this module only when arguments are given (@effect/cli is ~170 KB that answering an MCP
 * client's `initialize` does not need); without any, it serves MCP over stdio, as `serve` does.
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { stripVTControlCharacters } from "node:util"
import { SERVER_VERSION } from "./config/Version.js"

/**
 * The commands, in the order `--help` lists them: what it says of each, and each one's own options (all take
 * `--sandbox` too). A new command is one entry here; the compiler then asks main.ts for what it runs.
 */
export const commands = {
  serve: { description: "MCP server over stdio, plus the webhook server on WEBHOOK_PORT (the default)", options: {} },
  webhooks: { description: "only the webhook HTTP server, for systemd or pm2", options: {} },
  http: {
    description: "MCP over Streamable HTTP at /mcp (bearer tokens: MCP_AUTH_TOKEN) and the webhooks, on WEBHOOK_PORT",
    options: {}
  },
  check: { description: "check the setup (credentials, inbound webhook URL, database, port) without sending anything", options: {} },
  "migrate-to-postgres": {
    description: "copy the SQLite database at DATABASE_PATH into the PostgreSQL database at DATABASE_URL",
    options: {}
  },
  "configure-webhooks": {
    description: "point the number's (or its Messaging Service's) inbound webhook at WEBHOOK_BASE_URL through Twilio's API",
    options: { dryRun: Options.boolean("dry-run").pipe(Options.withDescription("show what would change, change nothing")) }
  },
  revoke: { description: "end every grant of the built-in OAuth server (MCP_OAUTH_BUILTIN): clients must be approved again", options: {} }
} satisfies Record<string, { readonly description: string; readonly options: Command.Command.Config }>

type Commands = typeof commands
type Name = keyof Commands

const sandbox = Options.boolean("sandbox").pipe(
  Options.withDescription("use an in-memory Twilio: no account needed, nothing is sent (or TWILIO_MCP_SANDBOX=true)")
)

/** What a command is given: `--sandbox` and its own options, parsed. */
type Flags<N extends Name> = Command.Command.ParseConfig<
  { readonly sandbox: typeof sandbox } & Extract<Commands[N]["options"], Command.Command.Config>
>

/** What each command runs (main.ts holds them). */
export type Handlers = { readonly [N in Name]: (flags: Flags<N>) => Effect.Effect<void, unknown> }

/** A command or option the command line does not know, in @effect/cli's words. */
class CommandLineInvalid extends Schema.TaggedError<CommandLineInvalid>()("CommandLineInvalid", { problem: Schema.String }) {
  override get message() {
    return `${this.problem} (twilio-mcp --help lists the commands and options)`
  }
}

const footer = HelpDoc.p(
  "Every command takes --help; --version prints the version. Settings come from the environment, then .env in " +
    "the working directory, then .env in the project folder (the per-user data folder when installed as a " +
    "package); see the README's Configuration."
)

/**
 * Help without @effect/cli's own options: --completions and --wizard are of no use to an MCP server, and
 * LOG_LEVEL overrides --log-level. --help and --version are in the footer.
 */
const helpLayout = CliConfig.layer({ showBuiltIns: false })

/** Text as a terminal shows it, or without colour codes for a pipe or a file. */
const plain = (text: string) => (process.stdout.isTTY ? text : stripVTControlCharacters(text))

/**
 * @effect/cli writes help and the version with `Console.log`, here on stdout, only when they are asked for. It
 * also writes its errors with `Console.error`: dropped, as each is returned too and main.ts writes it as one
 * line. The logger writes through `unsafe`, left as it is.
 */
const cliConsole = (console: Console.Console): Console.Console => ({
  ...console,
  log: (...args) => Effect.sync(() => process.stdout.write(`${plain(args.join(" ")).trimEnd()}\n`)),
  error: () => Effect.void
})

/**
 * Runs the command `argv` (process.argv) names; without one, `serve`. `--sandbox` given before the command
 * counts as given after it.
 */
export const runCommandLine = (argv: ReadonlyArray<string>, handlers: Handlers) => {
  const root = Command.make("twilio-mcp", { sandbox }, handlers.serve)
  const subcommand = <N extends Name>(name: N) =>
    Command.make(name, { sandbox, ...commands[name].options }, (flags) =>
      Effect.flatMap(root, (before) => handlers[name]({ ...flags, sandbox: flags.sandbox || before.sandbox } as Flags<N>))).pipe(
        Command.withDescription(commands[name].description)
      )
  const [first, ...rest] = (Object.keys(commands) as Array<Name>).map(subcommand)
  const cli = Command.run(root.pipe(Command.withSubcommands([first!, ...rest])), {
    name: "twilio-mcp",
    version: SERVER_VERSION,
    summary: Span.text("an MCP server for Twilio SMS and MMS"),
    footer
  })
  return Console.consoleWith((console) => cli(argv).pipe(Effect.withConsole(cliConsole(console)))).pipe(
    Effect.catchIf(ValidationError.isValidationError, (invalid) =>
      new CommandLineInvalid({ problem: stripVTControlCharacters(HelpDoc.toAnsiText(invalid.error)).replace(/\s+/g, " ").trim() })),
    // What @effect/cli asks for; the terminal is read only by `--wizard`.
    Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer, helpLayout))
  )
}
