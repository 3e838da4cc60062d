import * as Schema from "effect/Schema"

/**
 * Failures a caller can act on. Each carries the facts and says in `message` what went wrong and what to
 * do; the MCP bridge and the HTTP router turn them into a tool error or a status code in one place each.
 */

export class ConversationNotFound extends Schema.TaggedError<ConversationNotFound>()("ConversationNotFound", {
  conversationId: Schema.String
}) {
  override get message() {
    return `Conversation ${this.conversationId} not found. Use create_conversation, or omit conversationId to thread automatically.`
  }
}

/** A page's `before` that names no thread: it did not come from a previous page. */
export class UnknownPageStart extends Schema.TaggedError<UnknownPageStart>()("UnknownPageStart", {
  before: Schema.String
}) {
  override get message() {
    return `before: ${this.before} is not a thread; pass the before value a previous list_conversations result returned, or omit it for the newest threads.`
  }
}

export class MessageNotFound extends Schema.TaggedError<MessageNotFound>()("MessageNotFound", {
  messageSid: Schema.String
}) {
  override get message() {
    return `Message ${this.messageSid} not found in local storage or in Twilio.`
  }
}

export class AutoCreateDisabled extends Schema.TaggedError<AutoCreateDisabled>()("AutoCreateDisabled", {
  participants: Schema.Array(Schema.String)
}) {
  override get message() {
    return `No conversation found and auto-creation is disabled (participants ${this.participants.join(", ")}). ` +
      "Create one with create_conversation, or set AUTO_CREATE_CONVERSATIONS=true."
  }
}

export class RecipientNotInConversation extends Schema.TaggedError<RecipientNotInConversation>()(
  "RecipientNotInConversation",
  { conversationId: Schema.String, to: Schema.String, participants: Schema.Array(Schema.String) }
) {
  override get message() {
    return `Recipient ${this.to} is not a participant of conversation ${this.conversationId} ` +
      `(participants: ${this.participants.join(", ")}). Omit conversationId or use that thread's number.`
  }
}

export class MmsDisabled extends Schema.TaggedError<MmsDisabled>()("MmsDisabled", {}) {
  override get message() {
    return "mediaUrls given but MMS is disabled (ENABLE_MMS=false). Send text only, or enable MMS."
  }
}

export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Local storage failed during ${this.operation}: ${this.detail}`
  }
}

export class OptedOut extends Schema.TaggedError<OptedOut>()("OptedOut", {
  recipient: Schema.String,
  sender: Schema.String,
  since: Schema.String
}) {
  override get message() {
    return `Not sent: ${this.recipient} opted out of messages from ${this.sender} (STOP received ${this.since}). ` +
      "Do not message them again; they must text START to opt back in."
  }
}

/** The send guard (SMS_ALLOWED_RECIPIENTS, SMS_MAX_PER_HOUR) refused a send. */
export class SendRefused extends Schema.TaggedError<SendRefused>()("SendRefused", {
  rule: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Not sent: refused by ${this.rule}: ${this.detail}`
  }
}

export class SendInProgress extends Schema.TaggedError<SendInProgress>()("SendInProgress", {
  idempotencyKey: Schema.String,
  startedAt: Schema.String
}) {
  override get message() {
    return `A send with idempotencyKey "${this.idempotencyKey}" started at ${this.startedAt} and has no result yet: ` +
      "it is in progress, or its process stopped mid-send. Check get_conversation_thread before sending with a new key."
  }
}

/** better-sqlite3, a native addon, cannot be loaded: built for another Node.js version or platform, or missing. */
export class SqliteDriverUnavailable extends Schema.TaggedError<SqliteDriverUnavailable>()("SqliteDriverUnavailable", {
  reason: Schema.String
}) {
  override get message() {
    return `The SQLite driver (better-sqlite3, a native addon) could not be loaded: ${this.reason}\n` +
      "It is built for one Node.js version and platform, so this usually follows a Node.js upgrade. Rebuild it with " +
      "`npm rebuild better-sqlite3` in the folder where twilio-mcp is installed; under npx, clear the npx cache " +
      "(`rm -rf ~/.npm/_npx`, or `npx clear-npx-cache`) and start again. Your database file is not affected."
  }
}

/** An idempotency key that already belongs to another message: reusing it would report that one as this. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  idempotencyKey: Schema.String,
  to: Schema.String,
  text: Schema.String,
  messageSid: Schema.optional(Schema.String)
}) {
  override get message() {
    const text = this.text.length > 60 ? `${this.text.slice(0, 60)}…` : this.text
    return `Not sent: idempotencyKey "${this.idempotencyKey}" already belongs to another message ` +
      `(to ${this.to}: "${text}"${this.messageSid === undefined ? "" : `, sent as ${this.messageSid}`}). ` +
      "Use a new key for a new message; repeat the same arguments with this key to get that message's result."
  }
}

/** `from` is not one of the account's SMS senders: Twilio would refuse the send with 21606. */
export class SenderNotOwned extends Schema.TaggedError<SenderNotOwned>()("SenderNotOwned", {
  from: Schema.String,
  senders: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Not sent: ${this.from} is not one of this account's SMS senders (${this.senders.join(", ") || "none found"}). ` +
      "Omit from to use the configured sender, or pass one of these."
  }
}
