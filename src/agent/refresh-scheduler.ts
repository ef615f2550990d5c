import type { Clock } from "../runtime/clock.js";

/**
 * One timer per credential identity (session, account, role), set to the refresh time of
 * the credentials its containers hold. When it fires, `onDue` fetches once and pushes to
 * every container of that identity, then calls `ensure` with the next time.
 */
export class RefreshScheduler {
  private readonly timers = new Map<string, { dueAt: number; controller: AbortController }>();

  /**
   * @param slackMs added to each wait, so a timer never fires a hair before the credentials
   *   count as stale in the shared cache (which would re-push the same ones).
   */
  constructor(
    private readonly clock: Clock,
    private readonly signal: AbortSignal,
    private readonly onDue: (key: string) => Promise<void>,
    private readonly slackMs = 100,
  ) {}

  /** Makes sure a round for `key` runs at `dueAt` or earlier. */
  ensure(key: string, dueAt: number): void {
    const current = this.timers.get(key);
    if (current && current.dueAt <= dueAt) return;
    current?.controller.abort();
    if (this.signal.aborted) return;
    const controller = new AbortController();
    const entry = { dueAt, controller };
    this.timers.set(key, entry);
    const signal = AbortSignal.any([this.signal, controller.signal]);
    const wait = Math.max(0, dueAt - this.clock.now()) + this.slackMs;
    this.clock
      .sleep(wait, signal)
      .then(
        () => {
          if (this.timers.get(key) === entry) this.timers.delete(key);
          return this.onDue(key);
        },
        () => undefined, // cancelled, replaced or the agent stopped
      )
      .catch(() => undefined); // onDue reports its own failures
  }

  cancel(key: string): void {
    this.timers.get(key)?.controller.abort();
    this.timers.delete(key);
  }

  dueAt(key: string): number | undefined {
    return this.timers.get(key)?.dueAt;
  }

  get size(): number {
    return this.timers.size;
  }
}
