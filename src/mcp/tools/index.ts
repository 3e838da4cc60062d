import type { CatchUp } from "../../messaging/CatchUp.js"
import type { AppConfig } from "../../config/AppConfig.js"
import type { Conversations } from "../../messaging/Conversations.js"
import type { Delivery } from "../../messaging/Delivery.js"
import type { Ingest } from "../../messaging/Ingest.js"
import type { Replies } from "../../messaging/Replies.js"
import type { Sending } from "../../messaging/Sending.js"
import type { SetupCheck } from "../../messaging/SetupCheck.js"
import type { Progress } from "../Progress.js"
import type { Tool } from "../Tool.js"
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

/** What tool handlers may use: the use-case services, plus the call's progress reporter. */
export type ToolServices = Sending | Delivery | Conversations | Replies | Ingest | CatchUp | SetupCheck | AppConfig | Progress

/** Every tool the server offers, in the order `tools/list` shows them. */
export const tools: ReadonlyArray<Tool<ToolServices>> = [
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
export const sandboxTools: ReadonlyArray<Tool<ToolServices>> = [...tools, simulateInbound]
