import * as Schema from "effect/Schema"

export const ConversationId = Schema.UUID.pipe(Schema.brand("ConversationId"))
export type ConversationId = typeof ConversationId.Type

export const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown })
export type Metadata = typeof Metadata.Type

export interface Conversation {
  readonly id: ConversationId
  readonly participants: ReadonlyArray<string>
  readonly metadata: Metadata | null
  readonly createdAt: string
  readonly lastActivityAt: string
}
