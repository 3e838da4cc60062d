import * as Option from "effect/Option"
import type { Conversation } from "../domain/Conversation.js"
import type { Message } from "../domain/Message.js"

/**
 * A summary from counts and the last message: who wrote last and whether a reply is awaited. No LLM. Someone
 * who texted STOP is awaiting nothing: the summary says they opted out.
 */
export const summarize = (
  conversation: Conversation,
  stats: { readonly inbound: number; readonly outbound: number; readonly last: Option.Option<Message> },
  optedOut: ReadonlyArray<string>
) => {
  const total = stats.inbound + stats.outbound
  const counts = `${total} message${total === 1 ? "" : "s"} (${stats.outbound} sent, ${stats.inbound} received)`
  const head = `Conversation between ${conversation.participants.join(" and ")}: ${counts}.`
  const awaitingReply = Option.match(stats.last, { onNone: () => false, onSome: (m) => m.direction === "inbound" && !optedOut.includes(m.from) })
  const tail = Option.match(stats.last, {
    onNone: () => " No messages yet.",
    onSome: (last) =>
      last.direction === "inbound"
        ? ` Last message from ${last.from} at ${last.timestamp}: ${awaitingReply ? "awaiting your reply." : "no reply expected."}`
        : ` Last message sent to ${last.to} at ${last.timestamp} (${last.status}): waiting for their reply.`
  })
  const stopped = optedOut.length === 0 ? "" : ` ${optedOut.join(", ")} opted out (texted STOP): do not message them.`
  return {
    summary: head + tail + stopped,
    lastActivity: Option.match(stats.last, { onNone: () => conversation.createdAt, onSome: (m) => m.timestamp }),
    messageCount: total,
    inboundCount: stats.inbound,
    outboundCount: stats.outbound,
    awaitingReply
  }
}
