import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { ACCOUNT_SID, type TwilioEmulator } from "./Emulator.js"

/**
 * A local front for the Twilio emulator: it forwards every request to `emulatorUrl`, counts them, and adds
 * what emulate@0.12.2 lacks: the account's `type` (always "Full" there), a number's SMS/MMS capability (always
 * true there), a Messaging Service's `use_inbound_webhook_on_number`, US A2P 10DLC campaigns, and the media of
 * an inbound MMS (its simulator stores none). It can also answer 429 (code 20429) as Twilio's rate limit does.
 */
export interface TwilioFront {
  readonly url: string
  /** Requests seen so far as "METHOD /path" (no query string), in order. */
  readonly requests: () => ReadonlyArray<string>
  /** How many requests so far match `pattern` ("GET /2010-04-01/…/Messages.json"). */
  readonly count: (pattern: RegExp) => number
  /** The form bodies of the POST requests matching `pattern`. */
  readonly forms: (pattern: RegExp) => ReadonlyArray<URLSearchParams>
  readonly setAccountType: (type: "Trial" | "Full") => void
  readonly setCapabilities: (phoneNumber: string, capabilities: { sms: boolean; mms: boolean }) => void
  readonly setUseInboundWebhookOnNumber: (serviceSid: string, value: boolean) => void
  readonly setA2pCampaigns: (serviceSid: string, statuses: ReadonlyArray<string>) => void
  /**
   * A text (with media: an MMS) from `from` to our number, through the emulator's simulator. Message lists
   * wait while it is stored, so no fetch sees the MMS before its media.
   */
  readonly simulateInbound: (from: string, body: string, media?: ReadonlyArray<{ contentType: string }>) => Promise<{ sid: string }>
  /** The next `times` requests matching `pattern` are answered 429 / 20429 without reaching the emulator. */
  readonly rateLimit: (pattern: RegExp, times: number) => void
  readonly close: () => Promise<void>
}

const json = (response: http.ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { "content-type": "application/json" })
  response.end(JSON.stringify(body))
}

export const startTwilioFront = async (emulator: TwilioEmulator): Promise<TwilioFront> => {
  const emulatorUrl = emulator.url
  const seen: Array<{ readonly request: string; readonly form: URLSearchParams }> = []
  let accountType: string | undefined
  const capabilities = new Map<string, { sms: boolean; mms: boolean }>()
  const useOnNumber = new Map<string, boolean>()
  const campaigns = new Map<string, ReadonlyArray<string>>()
  const media = new Map<string, ReadonlyArray<{ sid: string; contentType: string }>>()
  const limits: Array<{ pattern: RegExp; left: number }> = []
  let storing: Promise<unknown> = Promise.resolve()

  /** What the emulator answered, with the front's additions. */
  const patch = (path: string, body: any): any => {
    if (body === null || typeof body !== "object") return body
    if (path === `/2010-04-01/Accounts/${ACCOUNT_SID}.json` && accountType !== undefined) return { ...body, type: accountType }
    const number = (n: any) => (capabilities.has(n.phone_number) ? { ...n, capabilities: { ...n.capabilities, ...capabilities.get(n.phone_number) } } : n)
    const service = (s: any) => ({ ...s, use_inbound_webhook_on_number: useOnNumber.get(s.sid) ?? false })
    const message = (m: any) => (media.has(m.sid) ? { ...m, num_media: String(media.get(m.sid)!.length) } : m)
    if (Array.isArray(body.incoming_phone_numbers)) return { ...body, incoming_phone_numbers: body.incoming_phone_numbers.map(number) }
    if (typeof body.sid === "string" && body.sid.startsWith("PN") && body.phone_number !== undefined) return number(body)
    if (Array.isArray(body.services)) return { ...body, services: body.services.map(service) }
    if (typeof body.sid === "string" && body.sid.startsWith("MG")) return service(body)
    if (Array.isArray(body.messages)) return { ...body, messages: body.messages.map(message) }
    if (typeof body.sid === "string" && /^(SM|MM)/.test(body.sid)) return message(body)
    return body
  }

  /** Routes the emulator has no counterpart for; true when answered. */
  const local = (method: string, path: string, form: URLSearchParams, response: http.ServerResponse) => {
    const a2p = /^\/messaging\/v1\/Services\/(MG\w+)\/Compliance\/Usa2p$/.exec(path)
    if (method === "GET" && a2p) {
      const list = (campaigns.get(a2p[1]!) ?? []).map((status, i) => ({ sid: `QE${String(i).padStart(32, "0")}`, messaging_service_sid: a2p[1], campaign_status: status }))
      json(response, 200, { compliance: list, meta: { key: "compliance", page: 0, page_size: 20, next_page_url: null } })
      return true
    }
    const mediaList = /^\/2010-04-01\/Accounts\/(AC\w+)\/Messages\/((?:SM|MM)\w+)\/Media\.json$/.exec(path)
    if (method === "GET" && mediaList && media.has(mediaList[2]!)) {
      const uri = (sid: string) => `/2010-04-01/Accounts/${mediaList[1]}/Messages/${mediaList[2]}/Media/${sid}.json`
      json(response, 200, {
        media_list: media.get(mediaList[2]!)!.map((m) => ({ sid: m.sid, parent_sid: mediaList[2], content_type: m.contentType, uri: uri(m.sid) })),
        next_page_uri: null,
        page: 0,
        page_size: 50
      })
      return true
    }
    const service = /^\/messaging\/v1\/Services\/(MG\w+)$/.exec(path)
    if (method === "POST" && service && form.has("UseInboundWebhookOnNumber")) {
      useOnNumber.set(service[1]!, form.get("UseInboundWebhookOnNumber") === "true")
    }
    return false
  }

  const server = http.createServer(async (request, response) => {
    const target = new URL(request.url ?? "/", emulatorUrl)
    const method = request.method ?? "GET"
    const chunks: Array<Buffer> = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    seen.push({ request: `${method} ${target.pathname}`, form: new URLSearchParams(body.toString()) })
    const limit = limits.find((l) => l.left > 0 && l.pattern.test(`${method} ${target.pathname}`))
    if (limit !== undefined) {
      limit.left--
      return json(response, 429, { code: 20429, message: "Too Many Requests", more_info: "https://www.twilio.com/docs/errors/20429", status: 429 })
    }
    if (local(method, target.pathname, seen[seen.length - 1]!.form, response)) return
    await storing
    try {
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => k !== "host" && k !== "content-length")) as Record<string, string>
      const answer = await fetch(target, { method, headers, ...(method === "GET" ? {} : { body }) })
      const text = await answer.text()
      const isJson = (answer.headers.get("content-type") ?? "").includes("json")
      response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" })
      response.end(isJson && answer.ok ? JSON.stringify(patch(target.pathname, JSON.parse(text))) : text)
    } catch (error) {
      json(response, 502, { message: String(error) })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  let nextMedia = 0

  return {
    url,
    requests: () => seen.map((s) => s.request),
    count: (pattern) => seen.filter((s) => pattern.test(s.request)).length,
    forms: (pattern) => seen.filter((s) => pattern.test(s.request)).map((s) => s.form),
    setAccountType: (type) => void (accountType = type),
    setCapabilities: (phoneNumber, value) => void capabilities.set(phoneNumber, value),
    setUseInboundWebhookOnNumber: (serviceSid, value) => void useOnNumber.set(serviceSid, value),
    setA2pCampaigns: (serviceSid, statuses) => void campaigns.set(serviceSid, statuses),
    simulateInbound: (from, body, list = []) => {
      const stored = emulator.simulateInbound(from, body).then((message) => {
        if (list.length > 0) media.set(message.sid, list.map((m) => ({ sid: `ME${String(++nextMedia).padStart(32, "0")}`, contentType: m.contentType })))
        return message
      })
      storing = stored.catch(() => undefined)
      return stored
    },
    rateLimit: (pattern, times) => void limits.push({ pattern, left: times }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
