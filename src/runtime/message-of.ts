/** An error as a log line, a note or `status` gives it: its message, or the thrown value as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The same without its final period, to go inside a sentence ("…failed: MESSAGE; retrying"). */
export function clauseOf(err: unknown): string {
  return messageOf(err).replace(/\.$/, "");
}
