import { createConversation } from "./CreateConversation.js"
import { getConversationThread } from "./GetConversationThread.js"
import { getInboundMessages } from "./GetInboundMessages.js"
import { getMessageStatus } from "./GetMessageStatus.js"
import { sendSms } from "./SendSms.js"

/** Every tool the server offers, in the order `tools/list` shows them. */
export const tools = [sendSms, getInboundMessages, createConversation, getConversationThread, getMessageStatus]
