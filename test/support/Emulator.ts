import { createEmulator } from "emulate"

/** The Twilio account the emulator is seeded with; it passes the server's config validation. */
export const ACCOUNT_SID = `AC${"e2".repeat(16)}`
export const AUTH_TOKEN = "e2e-auth-token-0123456789abcdef-0123"
/** The one number the account owns: the server's TWILIO_PHONE_NUMBER. */
export const OUR_NUMBER = "+15550001111"

export interface TwilioEmulator {
  readonly url: string
  /** A text from `from` to our number (or `to`): the emulator posts a signed webhook to the number's sms_url. */
  readonly simulateInbound: (from: string, body: string, to?: string) => Promise<{ sid: string }>
  /** Moves a message to `status`: the emulator posts a signed callback to its StatusCallback. */
  readonly simulateStatus: (messageSid: string, status: string) => Promise<void>
  /** A message sent from OUR_NUMBER straight through the REST API, not through the server. */
  readonly createMessage: (to: string, body: string) => Promise<{ sid: string }>
  /** A message as the emulator stores it (REST fetch). */
  readonly fetchMessage: (messageSid: string) => Promise<{ sid: string; status: string; body: string; from: string; to: string }>
  /** Any REST call on the emulator, as the account: GET without `form`, else POST. */
  readonly rest: (path: string, form?: Record<string, string>) => Promise<any>
  /** Points OUR_NUMBER's (or `number`'s) messaging webhook (its sms_url) at `url`, as in the Twilio console. */
  readonly setSmsUrl: (url: string, number?: string) => Promise<void>
  readonly close: () => Promise<void>
}

/**
 * The emulator on a free 127.0.0.1 port; inbound messages to OUR_NUMBER are posted to `webhookBaseUrl`, or
 * without one, only stored (a number whose messaging webhook was never set). The account's auth token is
 * AUTH_TOKEN unless `authToken` says otherwise; `moreNumbers` (e.g. a WhatsApp sender) are the account's too,
 * their messages posted to the same URL.
 */
export const startEmulator = async (
  webhookBaseUrl?: string,
  authToken = AUTH_TOKEN,
  moreNumbers: ReadonlyArray<string> = []
): Promise<TwilioEmulator> => {
  const emulator = await createEmulator({
    service: "twilio",
    hostname: "127.0.0.1",
    port: 0,
    seed: {
      twilio: {
        account: { sid: ACCOUNT_SID, auth_token: authToken },
        phone_numbers: [OUR_NUMBER, ...moreNumbers].map((phone_number) => ({
          phone_number,
          ...(webhookBaseUrl === undefined ? {} : { sms_url: `${webhookBaseUrl}/webhooks/twilio/sms` })
        }))
      }
    }
  })
  // It reports http://localhost:<port> but listens on IPv4 only.
  const url = `http://127.0.0.1:${new URL(emulator.url).port}`
  const authorization = `Basic ${Buffer.from(`${ACCOUNT_SID}:${authToken}`).toString("base64")}`

  const messagesPath = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`
  const request = async (path: string, form?: Record<string, string>): Promise<any> => {
    const response = await fetch(url + path, {
      method: form === undefined ? "GET" : "POST",
      headers: { authorization, ...(form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }) },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() })
    })
    const json = await response.json()
    if (!response.ok) throw new Error(`emulator ${path}: HTTP ${response.status} ${JSON.stringify(json)}`)
    return json
  }

  return {
    url,
    simulateInbound: (from, body, to = OUR_NUMBER) => request("/_twilio/simulate/inbound-message", { To: to, From: from, Body: body }),
    simulateStatus: async (messageSid, status) => {
      await request("/_twilio/simulate/message-status", { MessageSid: messageSid, Status: status })
    },
    createMessage: (to, body) => request(messagesPath, { To: to, From: OUR_NUMBER, Body: body }),
    fetchMessage: (messageSid) => request(messagesPath.replace(".json", `/${messageSid}.json`)),
    rest: request,
    setSmsUrl: async (smsUrl, phoneNumber = OUR_NUMBER) => {
      const numbersPath = `/2010-04-01/Accounts/${ACCOUNT_SID}/IncomingPhoneNumbers`
      const { incoming_phone_numbers: [number] } = await request(`${numbersPath}.json?PhoneNumber=${encodeURIComponent(phoneNumber)}`)
      await request(`${numbersPath}/${number.sid}.json`, { SmsUrl: smsUrl })
    },
    close: () => emulator.close()
  }
}
