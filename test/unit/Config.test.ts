import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { AppConfigShape } from "../../src/config/AppConfig.js"
import { commandLine, type Location } from "../../src/config/Install.js"
import { ConfigInvalid, loadConfig, parseConfig } from "../../src/config/LoadConfig.js"
import { Sending } from "../../src/messaging/Sending.js"
import { TestLayer } from "../support/TestLayer.js"
import { TwilioMemory } from "../../src/twilio/TwilioMemory.js"
import { alice } from "./support.js"

const SID = `AC${"0123456789abcdef".repeat(2)}`
const TOKEN = "s3cr3t-token-0123456789abcdef-xyz"
const baseDir = "/opt/twilio-mcp"
/** A source checkout at baseDir, started from `/` as Claude Desktop does. */
const checkout: Location = { projectRoot: baseDir, cwd: "/", platform: "linux", homeDir: "/home/ada" }

const validEnv = {
  TWILIO_ACCOUNT_SID: SID,
  TWILIO_AUTH_TOKEN: TOKEN,
  TWILIO_PHONE_NUMBER: "+15551234567",
  WEBHOOK_BASE_URL: "https://abc123.ngrok.io"
}

type Env = Record<string, string | undefined>

const parse = (env: Env, sandbox = false, location = checkout) => parseConfig(env, { sandbox, location })

const configOf = (env: Env, sandbox = false, location = checkout): AppConfigShape =>
  Either.getOrThrowWith(parse(env, sandbox, location), (e) => new Error(e.message))

/** Why `env` was rejected; fails the test if it was accepted. */
const rejection = (env: Env): ConfigInvalid =>
  Either.match(parse(env), {
    onLeft: (e) => {
      expect(e).toBeInstanceOf(ConfigInvalid)
      return e
    },
    onRight: () => expect.fail(`expected ${JSON.stringify(env)} to be rejected`)
  })

const problemsOf = (env: Env) => rejection(env).problems

/** The problems that name `variable` (none if the configuration was accepted). */
const problemsFor = (env: Env, variable: string) =>
  Either.match(parse(env), { onLeft: (e) => e.problems.filter((p) => p.startsWith(`${variable} `)), onRight: () => [] })

describe("parseConfig", () => {
  it("applies the documented defaults", () => {
    const config = configOf(validEnv)
    expect(config).toMatchObject({
      accountSid: SID,
      phoneNumber: "+15551234567",
      messagingServiceSid: undefined,
      webhookBaseUrl: "https://abc123.ngrok.io",
      webhookHost: "127.0.0.1",
      webhookPort: 3000,
      logLevel: "info",
      autoCreateConversations: true,
      enableAiContext: true,
      enableMms: true,
      twilioTimeoutMs: 15_000,
      sandbox: false
    })
  })

  it("resolves a relative DATABASE_PATH against baseDir, not the working directory", () => {
    expect(configOf(validEnv).databasePath).toBe(path.join(baseDir, "data", "twilio.db"))
    expect(configOf({ ...validEnv, DATABASE_PATH: "db/x.db" }).databasePath).toBe(path.join(baseDir, "db", "x.db"))
    expect(configOf({ ...validEnv, DATABASE_PATH: "/var/lib/x.db" }).databasePath).toBe("/var/lib/x.db")
    expect(configOf({ ...validEnv, DATABASE_PATH: ":memory:" }).databasePath).toBe(":memory:")
  })

  it("treats empty and blank values as unset", () => {
    const config = configOf({ ...validEnv, WEBHOOK_PORT: "", LOG_LEVEL: "  ", ENABLE_MMS: "" })
    expect([config.webhookPort, config.logLevel, config.enableMms]).toEqual([3000, "info", true])
  })

  it.each(["false", "0", "no", "off", "FALSE", " No "])("reads %j as false", (value) => {
    const config = configOf({ ...validEnv, AUTO_CREATE_CONVERSATIONS: value, ENABLE_AI_CONTEXT: value, ENABLE_MMS: value })
    expect([config.autoCreateConversations, config.enableAiContext, config.enableMms]).toEqual([false, false, false])
  })

  it.each(["true", "1", "yes", "on", "TRUE"])("reads %j as true", (value) => {
    expect(configOf({ ...validEnv, ENABLE_MMS: value }).enableMms).toBe(true)
  })

  it("reports a boolean that is neither true nor false", () => {
    expect(problemsOf({ ...validEnv, ENABLE_MMS: "maybe" })).toEqual(['ENABLE_MMS must be true or false (got "maybe")'])
  })

  it("lists every bad variable at once, once each, in one ConfigInvalid", () => {
    const bad = {
      TWILIO_ACCOUNT_SID: "AC123",
      TWILIO_AUTH_TOKEN: "short",
      TWILIO_PHONE_NUMBER: "555 123 4567",
      TWILIO_MESSAGING_SERVICE_SID: "MGnope",
      WEBHOOK_BASE_URL: "ftp://example.com",
      WEBHOOK_PORT: "abc",
      LOG_LEVEL: "verbose",
      AUTO_CREATE_CONVERSATIONS: "maybe",
      ENABLE_AI_CONTEXT: "2",
      ENABLE_MMS: "nah",
      TWILIO_TIMEOUT_MS: "5"
    }
    const problems = problemsOf(bad)
    const named = problems.map((p) => p.split(" ")[0])
    // One line per variable: a model or a human fixes the list in one go.
    expect(named.sort()).toEqual(Object.keys(bad).sort())
    const message = rejection(bad).message
    for (const variable of Object.keys(bad)) expect(message).toContain(variable)
  })

  it("names every missing required variable", () => {
    const problems = problemsOf({})
    for (const variable of ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER"]) {
      expect(problems.some((p) => p.startsWith(`${variable} is required`))).toBe(true)
    }
  })

  it("needs no WEBHOOK_BASE_URL: replies are then fetched from Twilio (issue 21)", () => {
    const { WEBHOOK_BASE_URL: _, ...withoutUrl } = validEnv
    expect(configOf(withoutUrl)).toMatchObject({ inbound: "fetch", webhookBaseUrl: "http://127.0.0.1:3000", fetchSeconds: 2, idleFetchSeconds: 60 })
  })

  it.each([
    [{ WEBHOOK_BASE_URL: "https://abc123.ngrok.io" }, "webhook"],
    [{ WEBHOOK_BASE_URL: "http://abc123.ngrok.io" }, "fetch"],
    [{ WEBHOOK_BASE_URL: "https://127.0.0.1:3000" }, "fetch"],
    [{ WEBHOOK_BASE_URL: "http://localhost:3000", INBOUND: "webhook" }, "webhook"],
    [{ WEBHOOK_BASE_URL: "https://abc123.ngrok.io", INBOUND: "poll" }, "fetch"]
  ])("INBOUND=auto|webhook|poll with %j is %s", (env, mode) => {
    expect(configOf({ ...validEnv, ...env }).inbound).toBe(mode)
  })

  it("refuses INBOUND=webhook without WEBHOOK_BASE_URL, and an unknown INBOUND", () => {
    const { WEBHOOK_BASE_URL: _, ...withoutUrl } = validEnv
    expect(problemsFor({ ...withoutUrl, INBOUND: "webhook" }, "INBOUND")[0]).toMatch(/needs WEBHOOK_BASE_URL/)
    expect(problemsFor({ ...validEnv, INBOUND: "push" }, "INBOUND")[0]).toMatch(/auto, webhook, poll/)
  })

  it("says LOG_LEVEL's allowed values", () => {
    const problems = problemsFor({ ...validEnv, LOG_LEVEL: "verbose" }, "LOG_LEVEL")
    expect(problems).toHaveLength(1)
    for (const level of ["debug", "info", "warn", "error"]) expect(problems[0]).toContain(level)
  })

  it.each([
    [`AC${"a".repeat(31)}`, false],
    [`AC${"a".repeat(33)}`, false],
    [`ac${"a".repeat(32)}`, false],
    [`AC${"g".repeat(32)}`, false],
    [`AC${"aB3".repeat(10)}ff`, true]
  ])("account SID %s accepted: %s", (sid, ok) => {
    expect(problemsFor({ ...validEnv, TWILIO_ACCOUNT_SID: sid }, "TWILIO_ACCOUNT_SID")).toHaveLength(ok ? 0 : 1)
  })

  it.each([
    ["x".repeat(31), false],
    ["x".repeat(32), true]
  ])("auth token %s accepted: %s", (token, ok) => {
    expect(problemsFor({ ...validEnv, TWILIO_AUTH_TOKEN: token }, "TWILIO_AUTH_TOKEN")).toHaveLength(ok ? 0 : 1)
  })

  it.each([
    ["5551234567", false],
    ["+1 555 123 4567", false],
    ["+05551234567", false],
    ["+1234567890123456", false],
    ["+442071838750", true]
  ])("phone number %s accepted: %s", (phone, ok) => {
    expect(problemsFor({ ...validEnv, TWILIO_PHONE_NUMBER: phone }, "TWILIO_PHONE_NUMBER")).toHaveLength(ok ? 0 : 1)
  })

  it("needs a phone number or a Messaging Service", () => {
    const { TWILIO_PHONE_NUMBER: _, ...noPhone } = validEnv
    expect(problemsOf(noPhone)).toEqual([
      "TWILIO_PHONE_NUMBER is required (E.164, e.g. +15551234567) unless TWILIO_MESSAGING_SERVICE_SID is set"
    ])
    const service = `MG${"b".repeat(32)}`
    const config = configOf({ ...noPhone, TWILIO_MESSAGING_SERVICE_SID: service })
    expect([config.phoneNumber, config.messagingServiceSid]).toEqual([undefined, service])
  })

  it("strips trailing slashes from WEBHOOK_BASE_URL and TWILIO_API_BASE_URL", () => {
    const config = configOf({ ...validEnv, WEBHOOK_BASE_URL: "https://abc123.ngrok.io/", TWILIO_API_BASE_URL: "http://127.0.0.1:4010//" })
    expect(config.webhookBaseUrl).toBe("https://abc123.ngrok.io")
    expect(config.twilioApiBaseUrl).toBe("http://127.0.0.1:4010")
  })

  it("keeps WEBHOOK_BASE_URL's user:password@ only in what Twilio signs and calls, never in what is shown", () => {
    const config = configOf({ ...validEnv, WEBHOOK_BASE_URL: "https://hook:s3cret@abc123.ngrok.io/" })
    expect(config.webhookBaseUrl).toBe("https://abc123.ngrok.io")
    expect(Redacted.value(config.webhookSigningBaseUrl)).toBe("https://hook:s3cret@abc123.ngrok.io")
    expect(JSON.stringify(config)).not.toMatch(/s3cret/)
  })

  it("the sandbox's public URL is its own listener: http://127.0.0.1 and WEBHOOK_PORT (3000 unless set)", () => {
    expect(configOf({}, true).webhookBaseUrl).toBe("http://127.0.0.1:3000")
    expect(configOf({ WEBHOOK_PORT: "4555" }, true).webhookBaseUrl).toBe("http://127.0.0.1:4555")
    expect(configOf({ WEBHOOK_BASE_URL: "https://sandbox.example.test" }, true).webhookBaseUrl).toBe("https://sandbox.example.test")
  })

  it("runs in sandbox mode with no Twilio variables, ignoring real credentials", () => {
    const config = configOf({}, true)
    expect(config.sandbox).toBe(true)
    expect(config.phoneNumber).toMatch(/^\+[1-9]\d{1,14}$/)
    expect(config.databasePath).toBe(path.join(baseDir, "data", "sandbox.db"))
    const withReal = configOf({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN }, true)
    expect(withReal.accountSid).not.toBe(SID)
    expect(Redacted.value(withReal.authToken)).not.toBe(TOKEN)
  })

  it("selects PostgreSQL with a postgres:// or postgresql:// DATABASE_URL, kept redacted; SQLite without one", () => {
    expect(configOf(validEnv).databaseUrl).toBeUndefined()
    for (const url of ["postgres://app:pw-s3cret@db.example.com:5432/twilio", "postgresql://app:pw-s3cret@10.0.0.5/twilio?sslmode=require"]) {
      const config = configOf({ ...validEnv, DATABASE_URL: url })
      expect(Redacted.value(config.databaseUrl!)).toBe(url)
      expect(JSON.stringify(config)).not.toContain("pw-s3cret")
      expect(String(config.databaseUrl)).not.toContain("pw-s3cret")
    }
  })

  it.each([
    ["mysql://app:pw-s3cret@db/twilio", "must start with postgres:// or postgresql://"],
    ["db.example.com:5432", "must start with postgres:// or postgresql://"],
    ["postgres://", "must name a host"],
    ["postgres:///twilio", "must name a host"],
    ["not a url pw-s3cret", "must be a URL such as"]
  ])("DATABASE_URL %j is refused, and the message never quotes it", (url, reason) => {
    const problems = problemsFor({ ...validEnv, DATABASE_URL: url }, "DATABASE_URL")
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain(reason)
    expect(rejection({ ...validEnv, DATABASE_URL: url }).message).not.toContain("pw-s3cret")
  })

  it("keeps the auth token redacted", () => {
    const config = configOf(validEnv)
    expect(Redacted.value(config.authToken)).toBe(TOKEN)
    expect(String(config.authToken)).not.toContain(TOKEN)
    expect(JSON.stringify(config)).not.toContain(TOKEN)
    expect(`${config.authToken}`).not.toContain(TOKEN)
  })
})

describe("MCP_AUTH_TOKEN and MCP_ALLOWED_HOSTS (the http command)", () => {
  const MCP_TOKEN = "f".repeat(31) + "0123456789abcdef"

  it("are empty when unset", () => {
    expect(configOf(validEnv)).toMatchObject({ mcpAuthTokens: [], mcpAllowedHosts: [] })
  })

  it("MCP_AUTH_TOKEN takes one or more comma-separated tokens, kept redacted", () => {
    const config = configOf({ ...validEnv, MCP_AUTH_TOKEN: ` ${MCP_TOKEN} , ${"x".repeat(40)}==` })
    expect(config.mcpAuthTokens.map(Redacted.value)).toEqual([MCP_TOKEN, `${"x".repeat(40)}==`])
    expect(JSON.stringify(config)).not.toContain(MCP_TOKEN)
    expect(String(config.mcpAuthTokens)).not.toContain(MCP_TOKEN)
  })

  it.each([
    ["a 31-character token", "t".repeat(31)],
    ["a token with a space", `${MCP_TOKEN} ${MCP_TOKEN}`],
    ["a token with a quote", `${MCP_TOKEN}"`],
    ["an empty item", `${MCP_TOKEN},,${MCP_TOKEN}`]
  ])("MCP_AUTH_TOKEN: %s is refused, and the message never quotes it", (_, value) => {
    const problems = problemsFor({ ...validEnv, MCP_AUTH_TOKEN: value }, "MCP_AUTH_TOKEN")
    expect(problems.length).toBeGreaterThan(0)
    expect(problems[0]).toMatch(/MCP_AUTH_TOKEN must be one or more tokens of 32\+ characters .* openssl rand -hex 32/)
    expect(problems.join("\n")).not.toContain(value.slice(0, 31))
  })

  it("MCP_ALLOWED_HOSTS takes host names and IP addresses, lower-cased", () => {
    expect(configOf({ ...validEnv, MCP_ALLOWED_HOSTS: "MCP.Example.com, 10.0.0.5,[::1]" }).mcpAllowedHosts).toEqual([
      "mcp.example.com",
      "10.0.0.5",
      "[::1]"
    ])
  })

  it.each(["https://mcp.example.com", "mcp.example.com:443", "*", "mcp.example.com/mcp"])("MCP_ALLOWED_HOSTS refuses %s", (value) => {
    expect(problemsFor({ ...validEnv, MCP_ALLOWED_HOSTS: value }, "MCP_ALLOWED_HOSTS")).toEqual([
      "MCP_ALLOWED_HOSTS must list host names or IP addresses, without scheme or port, separated by commas (e.g. mcp.example.com,10.0.0.5)"
    ])
  })
})

describe("WEBHOOK_BASE_URL reaches the status callback", () => {
  it.effect("a trailing slash does not double the slash in statusCallback", () =>
    Effect.gen(function*() {
      yield* Effect.flatMap(Sending, (m) => m.send({ to: alice, message: "hi" }))
      const [sent] = yield* Effect.flatMap(TwilioMemory, (t) => t.sent)
      expect(sent?.statusCallback).toBe("https://abc123.ngrok.io/base/webhooks/twilio/status")
    }).pipe(
      Effect.provide(TestLayer({ webhookBaseUrl: configOf({ ...validEnv, WEBHOOK_BASE_URL: "https://abc123.ngrok.io/base/" }).webhookBaseUrl }))
    ))
})

describe("WEBHOOK_PORT", () => {
  it("refuses 0, which would listen on a port Twilio cannot be told, in the usual message", () => {
    expect(problemsOf({ ...validEnv, WEBHOOK_PORT: "0" })).toEqual([
      "WEBHOOK_PORT must not be 0: Twilio needs a fixed port to reach (choose one, e.g. 3000)"
    ])
    expect(rejection({ ...validEnv, WEBHOOK_PORT: "0" }).message).toMatch(/^Environment validation failed:\n {2}- WEBHOOK_PORT must not be 0/)
    expect(Either.isLeft(parse({ WEBHOOK_PORT: "0" }, true))).toBe(true)
  })

  it("under --sandbox, refuses 0 for the sandbox's own reason, without suggesting --sandbox", () => {
    const refused = Either.getLeft(parse({ WEBHOOK_PORT: "0" }, true)).pipe(Option.getOrThrow)
    expect(refused.problems).toEqual([
      "WEBHOOK_PORT must not be 0: the sandbox's webhook URL is http://127.0.0.1:WEBHOOK_PORT, so the port must be known (choose one, e.g. 3000)"
    ])
    expect(refused.message).not.toMatch(/--sandbox|TWILIO_MCP_SANDBOX/)
    expect(rejection({ ...validEnv, WEBHOOK_PORT: "0" }).message).toMatch(/Or run with --sandbox/)
  })

  it.each([["1", 1], ["65535", 65535]])("accepts %s", (value, port) => {
    expect(configOf({ ...validEnv, WEBHOOK_PORT: value }).webhookPort).toBe(port)
  })

  it("refuses ports past 65535", () => {
    expect(problemsOf({ ...validEnv, WEBHOOK_PORT: "65536" })).toEqual(["WEBHOOK_PORT must be between 1 and 65535"])
  })
})

describe("TWILIO_MCP_SANDBOX", () => {
  it.each(["true", "1", "yes", "on"])("%j runs the sandbox as --sandbox does, ignoring real credentials", (value) => {
    const config = configOf({ TWILIO_MCP_SANDBOX: value, TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN })
    expect(config.sandbox).toBe(true)
    expect(config.accountSid).not.toBe(SID)
    expect(config.databasePath).toBe(path.join(baseDir, "data", "sandbox.db"))
    expect(config.webhookBaseUrl).toBe("http://127.0.0.1:3000")
  })

  it("false (or unset) leaves the real account in use", () => {
    expect(configOf({ ...validEnv, TWILIO_MCP_SANDBOX: "false" }).sandbox).toBe(false)
    expect(problemsOf({ TWILIO_MCP_SANDBOX: "off" })).toContain("TWILIO_ACCOUNT_SID is required")
  })

  it("is reported like any other variable when it is neither true nor false", () => {
    expect(problemsOf({ ...validEnv, TWILIO_MCP_SANDBOX: "sometimes" })).toEqual([
      'TWILIO_MCP_SANDBOX must be true or false (got "sometimes")'
    ])
  })
})

describe("the database of an installed package", () => {
  const npx = (homeDir: string, platform: NodeJS.Platform = "linux"): Location => ({
    projectRoot: `${homeDir}/.npm/_npx/4f1c/node_modules/twilio-sms-mcp`,
    cwd: "/",
    platform,
    homeDir
  })

  it("goes to the XDG data folder on Linux, not under node_modules", () => {
    expect(configOf(validEnv, false, npx("/home/ada")).databasePath).toBe("/home/ada/.local/share/twilio-sms-mcp/twilio.db")
    expect(configOf({}, true, npx("/home/ada")).databasePath).toBe("/home/ada/.local/share/twilio-sms-mcp/sandbox.db")
    expect(configOf({ ...validEnv, XDG_DATA_HOME: "/data/ada" }, false, npx("/home/ada")).databasePath)
      .toBe("/data/ada/twilio-sms-mcp/twilio.db")
    // The XDG specification: a relative path is ignored.
    expect(configOf({ ...validEnv, XDG_DATA_HOME: "data" }, false, npx("/home/ada")).databasePath)
      .toBe("/home/ada/.local/share/twilio-sms-mcp/twilio.db")
  })

  it("goes to Application Support on macOS and %APPDATA% on Windows", () => {
    expect(configOf(validEnv, false, npx("/Users/ada", "darwin")).databasePath)
      .toBe("/Users/ada/Library/Application Support/twilio-sms-mcp/twilio.db")
    const windows: Location = {
      projectRoot: "C:\\Users\\ada\\AppData\\Local\\npm-cache\\_npx\\4f1c\\node_modules\\twilio-sms-mcp",
      cwd: "C:\\",
      platform: "win32",
      homeDir: "C:\\Users\\ada"
    }
    expect(configOf({ ...validEnv, APPDATA: "D:\\Roaming" }, false, windows).databasePath).toBe("D:\\Roaming\\twilio-sms-mcp\\twilio.db")
    expect(configOf(validEnv, false, windows).databasePath).toBe("C:\\Users\\ada\\AppData\\Roaming\\twilio-sms-mcp\\twilio.db")
  })

  it("resolves a relative DATABASE_PATH in that folder; an absolute one stays", () => {
    expect(configOf({ ...validEnv, DATABASE_PATH: "work/sms.db" }, false, npx("/home/ada")).databasePath)
      .toBe("/home/ada/.local/share/twilio-sms-mcp/work/sms.db")
    expect(configOf({ ...validEnv, DATABASE_PATH: "/srv/sms.db" }, false, npx("/home/ada")).databasePath).toBe("/srv/sms.db")
  })
})

describe("commandLine", () => {
  it("is node and the absolute bundle path from a checkout, npx and the package name when installed", () => {
    expect(commandLine(checkout)).toBe("node /opt/twilio-mcp/dist/index.js")
    expect(commandLine({ ...checkout, projectRoot: "/usr/lib/node_modules/twilio-sms-mcp" })).toBe("npx -y twilio-sms-mcp")
    expect(commandLine({ ...checkout, projectRoot: "C:\\Users\\Ada Lovelace\\twilio-mcp", platform: "win32" }))
      .toBe('node "C:\\Users\\Ada Lovelace\\twilio-mcp\\dist\\index.js"')
  })
})

/** This server's variables (any added later too): cleared so the machine's own environment cannot leak in. */
const ownVariable = /^(TWILIO_|WEBHOOK_|SMS_|ENABLE_|DATABASE_PATH$|DATABASE_URL$|LOG_LEVEL$|AUTO_CREATE_CONVERSATIONS$|XDG_DATA_HOME$|APPDATA$)/

describe("loadConfig: the environment, then .env in the working directory, then .env in the project folder", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twilio-mcp-config-"))
  const project = path.join(tmp, "project")
  const cwd = path.join(tmp, "cwd")
  const here: Location = { projectRoot: project, cwd, platform: "linux", homeDir: path.join(tmp, "home") }
  const writeEnv = (dir: string, values: Record<string, string>) => {
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, ".env"), Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n"))
  }

  beforeEach(() => {
    for (const dir of [project, cwd, here.homeDir]) fs.rmSync(dir, { recursive: true, force: true })
    for (const dir of [project, cwd]) fs.mkdirSync(dir, { recursive: true })
    for (const variable of Object.keys(process.env).filter((k) => ownVariable.test(k))) vi.stubEnv(variable, undefined)
  })
  afterEach(() => vi.unstubAllEnvs())
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

  it.effect("each variable comes from the first place that sets it; DATABASE_PATH resolves against the project folder", () =>
    Effect.gen(function*() {
      writeEnv(project, { ...validEnv, TWILIO_PHONE_NUMBER: "+15550000001", LOG_LEVEL: "debug", ENABLE_MMS: "false" })
      writeEnv(cwd, { TWILIO_PHONE_NUMBER: "+15550000002", LOG_LEVEL: "warn", DATABASE_PATH: "db/sms.db" })
      vi.stubEnv("TWILIO_PHONE_NUMBER", "+15550000003")

      const config = yield* loadConfig({ sandbox: false, location: here })
      expect(config.phoneNumber).toBe("+15550000003")
      expect(config.logLevel).toBe("warn")
      expect(config.enableMms).toBe(false)
      expect(config.accountSid).toBe(SID)
      expect(config.databasePath).toBe(path.join(project, "db", "sms.db"))
    }))

  it.effect("works with no .env anywhere", () =>
    Effect.gen(function*() {
      for (const [key, value] of Object.entries(validEnv)) vi.stubEnv(key, value)
      const config = yield* loadConfig({ sandbox: false, location: here })
      expect(config.databasePath).toBe(path.join(project, "data", "twilio.db"))
    }))

  it.effect("names both .env places when the configuration is invalid", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadConfig({ sandbox: false, location: here }))
      expect(error).toBeInstanceOf(ConfigInvalid)
      expect(error.message).toContain(`${path.join(cwd, ".env")} (working directory)`)
      expect(error.message).toContain(`${path.join(project, ".env")} (project folder)`)
      expect(error.problems).toContain("TWILIO_ACCOUNT_SID is required")
    }))

  it.effect("reads TWILIO_MCP_SANDBOX from a .env file too", () =>
    Effect.gen(function*() {
      writeEnv(project, { TWILIO_MCP_SANDBOX: "true" })
      expect((yield* loadConfig({ sandbox: false, location: here })).sandbox).toBe(true)
    }))

  it.effect("an installed package reads its second .env from its data folder, not from node_modules", () =>
    Effect.gen(function*() {
      const installed: Location = { ...here, projectRoot: path.join(tmp, "home", ".npm", "_npx", "4f1c", "node_modules", "twilio-sms-mcp") }
      const dataFolder = path.join(tmp, "home", ".local", "share", "twilio-sms-mcp")
      writeEnv(dataFolder, validEnv)
      const config = yield* loadConfig({ sandbox: false, location: installed })
      expect(config.accountSid).toBe(SID)
      expect(config.databasePath).toBe(path.join(dataFolder, "twilio.db"))

      fs.rmSync(path.join(dataFolder, ".env"))
      const error = yield* Effect.flip(loadConfig({ sandbox: false, location: installed }))
      expect(error.message).toContain(`${path.join(dataFolder, ".env")} (data folder)`)
    }))

  it.effect("a .env that cannot be read is a problem, not silently skipped", () =>
    Effect.gen(function*() {
      for (const [key, value] of Object.entries(validEnv)) vi.stubEnv(key, value)
      fs.mkdirSync(path.join(cwd, ".env"))
      const error = yield* Effect.flip(loadConfig({ sandbox: false, location: here }))
      expect(error.problems).toEqual([expect.stringMatching(new RegExp(`^${path.join(cwd, ".env")} cannot be read \\(EISDIR`))])
    }))
})
