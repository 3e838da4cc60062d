import { checkSetup } from "./CheckSetup.js"
import { createConversation } from "./CreateConversation.js"
import { getConversationThread } from "./GetConversationThread.js"
import { getInboundMessages } from "./GetInboundMessages.js"
import { getMessageStatus } from "./GetMessageStatus.js"
import { listConversations } from "./ListConversations.js"
import { searchMessages } from "./SearchMessages.js"
import { sendSms } from "./SendSms.js"
import { simulateInbound } from "./SimulateInbound.js"
import { syncMessages } from "./SyncMessages.js"
import { waitForReply } from "./WaitForReply.js"

/** Every tool the server offers, in the order `tools/list` shows them. */
export const tools = [
  sendSms,
  getInboundMessages,
  createConversation,
  getConversationThread,
  getMessageStatus,
  waitForReply,
  listConversations,
  searchMessages,
  syncMessages,
  checkSetup
]

/** Sandbox mode adds a way to play the other side of the conversation. */
export const sandboxTools = [...tools, simulateInbound]
