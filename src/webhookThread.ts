// The webhook thread's entry (bundled as dist/webhook-thread.js): see http/WebhookThread.ts.
import { runWebhookThread } from "./http/WebhookThread.js"

void runWebhookThread()
