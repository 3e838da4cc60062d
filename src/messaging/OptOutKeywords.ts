import type { OptOutChange } from "../storage/OptOuts.js"

const STOP = new Set(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
const START = new Set(["START", "YES", "UNSTOP"])

/**
 * What an inbound message does to the sender's opt-out state. Twilio acts only on single-word messages, in
 * any case; its `OptOutType` parameter, when present, is authoritative. On WhatsApp Twilio acts on none of
 * them: the server honours them the same (a person who writes STOP is not written to again), per sender, so
 * a WhatsApp STOP does not stop SMS to the same number, nor the reverse.
 */
export const classifyOptOut = (body: string, optOutType?: string): OptOutChange | undefined => {
  const type = optOutType?.trim().toUpperCase()
  if (type === "STOP") return "opt-out"
  if (type === "START") return "opt-in"
  const word = body.trim().toUpperCase()
  return STOP.has(word) ? "opt-out" : START.has(word) ? "opt-in" : undefined
}
