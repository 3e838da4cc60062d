import * as Schema from "effect/Schema"
import type { Channel } from "./Address.js"

/** A thread's id: a UUID, normalised to lower case (the same id in capitals is the same thread). */
export const ConversationId = Schema.Lowercase.pipe(
  Schema.compose(Schema.UUID.annotations({
    message: () => "must be a conversation id (a UUID) as send_sms, create_conversation or list_conversations return it"
  })),
  Schema.brand("ConversationId")
)
export type ConversationId = typeof ConversationId.Type

/** ConversationId as a tool parameter: a plain string with the UUID format and `description` for the model. */
export const conversationIdParameter = (description: string) =>
  ConversationId.annotations({ jsonSchema: { type: "string", format: "uuid", description } })

export const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown })
export type Metadata = typeof Metadata.Type

export interface Conversation {
  readonly id: ConversationId
  readonly participants: ReadonlyArray<string>
  readonly channel: Channel
  readonly metadata: Metadata | null
  readonly createdAt: string
  readonly lastActivityAt: string
}
