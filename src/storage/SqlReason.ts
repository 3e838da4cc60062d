/**
 * The database's own reason ("database or disk is full", "password authentication failed for user …"), which
 * @effect/sql keeps as the cause of its generic message. A connection refused on every address of a host is
 * an AggregateError with no message of its own: its errors' messages.
 */
export const reasonOf = (error: unknown): string => {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  if (cause instanceof AggregateError && cause.message === "") return cause.errors.map(reasonOf).join("; ")
  return cause instanceof Error ? cause.message : String(cause)
}
