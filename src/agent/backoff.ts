export interface BackoffOptions {
  /** First delay. */
  baseMs: number;
  /** No delay is longer than this. */
  maxMs: number;
}

/** Capped exponential backoff: base, 2·base, 4·base, … up to max; attempt counts from 0. */
export function backoffMs(attempt: number, options: BackoffOptions): number {
  const exponent = Math.min(Math.max(0, attempt), 30);
  return Math.min(options.maxMs, options.baseMs * 2 ** exponent);
}

/** Runs `task` on every item with at most `limit` running at once; never rejects (tasks handle errors). */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
