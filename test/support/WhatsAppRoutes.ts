/**
 * What the emulator lacks for WhatsApp, answered as Twilio documents it, in front of the emulator (the server's
 * TWILIO_API_BASE_URL points here; everything else is passed through): the Content API's templates with their
 * WhatsApp approvals, a template send (ContentSid + ContentVariables instead of Body), and 63016 for free-form
 * text to a WhatsApp user whose 24-hour window is not open. Every message create is counted.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import twilio from "twilio"
import { ACCOUNT_SID, AUTH_TOKEN } from "./Emulator.js"

/** Twilio's WhatsApp sandbox number: the server's TWILIO_WHATSAPP_NUMBER in these tests. */
export const WHATSAPP_NUMBER = "whatsapp:+14155238886"

/** Content API resources as Twilio returns them (snake_case). */
export const TEMPLATES = [
  {
    sid: `HX${"c3".repeat(16)}`,
    account_sid: ACCOUNT_SID,
    friendly_name: "order_update",
    language: "en",
    variables: { 1: "Ada", 2: "A-100" },
    types: { "twilio/text": { body: "Hello {{1}}, your order {{2}} has shipped." } },
    approval_requests: { name: "order_update", category: "UTILITY", content_type: "twilio/text", status: "approved", rejection_reason: "" },
    date_created: "2025-01-01T00:00:00Z",
    date_updated: "2025-01-01T00:00:00Z",
    url: `https://content.twilio.com/v1/Content/HX${"c3".repeat(16)}`
  },
  {
    sid: `HX${"d4".repeat(16)}`,
    account_sid: ACCOUNT_SID,
    friendly_name: "promo",
    language: "en",
    variables: {},
    types: { "twilio/text": { body: "Our sale starts today." } },
    approval_requests: { name: "promo", category: "MARKETING", content_type: "twilio/text", status: "rejected", rejection_reason: "Promotional content" },
    date_created: "2025-01-01T00:00:00Z",
    date_updated: "2025-01-01T00:00:00Z",
    url: `https://content.twilio.com/v1/Content/HX${"d4".repeat(16)}`
  }
]

export interface WhatsAppRoutes {
  readonly url: string
  /** Message creates received (passed on or refused). */
  readonly creates: () => number
  /** The users Twilio considers inside their window (they wrote in the last 24 hours). */
  readonly openWindows: Set<string>
  readonly close: () => Promise<void>
}

const read = (request: http.IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (c: Buffer) => chunks.push(c))
    request.on("end", () => resolve(Buffer.concat(chunks)))
    request.on("error", reject)
  })

const json = (response: http.ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { "content-type": "application/json" })
  response.end(JSON.stringify(body))
}

const twilioError = (response: http.ServerResponse, code: number, message: string) =>
  json(response, 400, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status: 400 })

export const startWhatsAppRoutes = async (emulatorUrl: string): Promise<WhatsAppRoutes> => {
  let creates = 0
  const openWindows = new Set<string>()
  const authorization = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString("base64")}`

  const pass = async (request: http.IncomingMessage, response: http.ServerResponse, body: Buffer) => {
    const answer = await fetch(emulatorUrl + request.url, {
      method: request.method!,
      headers: Object.fromEntries(Object.entries(request.headers).filter(([k]) => k !== "host" && k !== "content-length")) as Record<string, string>,
      ...(request.method === "GET" || request.method === "HEAD" ? {} : { body })
    })
    response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" })
    response.end(Buffer.from(await answer.arrayBuffer()))
  }

  const createMessage = async (request: http.IncomingMessage, response: http.ServerResponse, body: Buffer) => {
    creates++
    const form = new URLSearchParams(body.toString())
    const to = form.get("To") ?? ""
    const contentSid = form.get("ContentSid")
    if (contentSid !== null) {
      const template = TEMPLATES.find((t) => t.sid === contentSid)
      if (template === undefined) return twilioError(response, 21655, "The ContentSid is Invalid")
      const variables = JSON.parse(form.get("ContentVariables") ?? "{}") as Record<string, string>
      // The emulator knows no templates: it is given the text the template renders to.
      form.delete("ContentSid")
      form.delete("ContentVariables")
      form.set("Body", template.types["twilio/text"].body.replace(/\{\{(\w+)\}\}/g, (_, name: string) => variables[name] ?? ""))
      return pass(request, response, Buffer.from(form.toString()))
    }
    if (to.startsWith("whatsapp:") && !openWindows.has(to)) {
      return twilioError(
        response,
        63016,
        "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template."
      )
    }
    return pass(request, response, body)
  }

  const server = http.createServer((request, response) => {
    void (async () => {
      if (request.headers.authorization !== authorization) return twilioError(response, 20003, "Authenticate")
      const body = await read(request)
      const path = new URL(request.url!, "http://x").pathname
      if (request.method === "GET" && path === "/content/v1/ContentAndApprovals") {
        return json(response, 200, {
          contents: TEMPLATES,
          meta: { page: 0, page_size: 50, first_page_url: null, previous_page_url: null, next_page_url: null, url: null, key: "contents" }
        })
      }
      if (request.method === "POST" && path === `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`) {
        return createMessage(request, response, body)
      }
      return pass(request, response, body)
    })().catch((error: unknown) => json(response, 500, { message: String(error) }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    creates: () => creates,
    openWindows,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/**
 * A WhatsApp message from `from` posted to the server's inbound webhook, signed as Twilio signs it, with the
 * fields WhatsApp adds (ProfileName, WaId). Twilio then considers the user's window open.
 */
export const whatsAppInbound = async (
  options: { readonly webhookBaseUrl: string; readonly routes: WhatsAppRoutes },
  from: string,
  body: string,
  profileName: string
) => {
  const sid = `SM${Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join("")}`
  const params: Record<string, string> = {
    MessageSid: sid,
    SmsMessageSid: sid,
    AccountSid: ACCOUNT_SID,
    From: from,
    To: WHATSAPP_NUMBER,
    Body: body,
    NumMedia: "0",
    NumSegments: "1",
    ProfileName: profileName,
    WaId: from.replace("whatsapp:+", ""),
    ApiVersion: "2010-04-01"
  }
  const url = `${options.webhookBaseUrl}/webhooks/twilio/sms`
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params) },
    body: new URLSearchParams(params).toString()
  })
  if (!response.ok) throw new Error(`inbound webhook: HTTP ${response.status} ${await response.text()}`)
  options.routes.openWindows.add(from)
  return { sid }
}
