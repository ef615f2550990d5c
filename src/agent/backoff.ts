import type { Clock } from "../runtime/clock.js";

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

export interface LimitOptions {
  /**
   * A task running longer than this stops counting against `limit` (it is almost surely waiting
   * on a hung container, and is bounded by its own exec time limit), so a few stuck tasks cannot
   * hold every slot while the rest wait. At most `limit` tasks are let go so at once: on an engine
   * too slow for the patience every task overruns it, and letting each go would put every item in
   * flight together (178 pushes at once with 200 containers), slowing each past its time limit.
   */
  patience?: { ms: number; clock: Clock };
  /** Once aborted, no further task is started; those under way go on. */
  signal?: AbortSignal;
}

/**
 * Runs `task` on every item with at most `limit` running at once (2 × `limit` with `patience`,
 * `limit` of them overdue); resolves when every task it started has ended, and never rejects
 * (tasks handle their errors).
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<unknown>,
  options: LimitOptions = {},
): Promise<void> {
  const { patience, signal } = options;
  let next = 0;
  let overdue = 0;
  const started: Promise<unknown>[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length && signal?.aborted !== true) {
      const item = items[next++] as T;
      const run = task(item).catch(() => undefined);
      started.push(run);
      if (patience === undefined) {
        await run;
        continue;
      }
      const timer = new AbortController();
      const late = await Promise.race([
        run.then(() => false),
        patience.clock.sleep(patience.ms, timer.signal).then(
          () => true,
          () => false,
        ),
      ]);
      timer.abort();
      if (!late) continue;
      if (overdue >= limit) {
        await run; // the engine is slow, not one container: keep to the limit
        continue;
      }
      overdue++;
      void run.then(() => overdue--);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  await Promise.all(started);
}
