import type { Clock } from "../runtime/clock.js";
import { forEachLimited } from "./backoff.js";
import type { ManagedContainer, PushOutcome, PushWant } from "./managed-container.js";
import type { SyncReason } from "./agent-events.js";

/**
 * A push normally takes ~100 ms, ~1 s on a busy engine: one still running after 2 s is waiting
 * on its container, and stops holding one of the round's slots.
 */
export const PUSH_PATIENCE_MS = 2000;

/** What one round's pushes came to, by container name. */
export interface RoundTally {
  pushed: string[];
  /** Had the credentials already. */
  current: number;
  /** A push to it was still under way (a hung one, until its time limit): one follows it. */
  busy: string[];
  failed: string[];
  /** Gone, stopping, or left to a newer round of the identity. */
  skipped: number;
}

export interface DispatchOptions {
  push: (managed: ManagedContainer, reason: SyncReason, want: PushWant) => Promise<PushOutcome>;
  concurrency: number;
  clock: Clock;
  /** The agent's: once aborted, no round starts another push. */
  signal: AbortSignal;
  patienceMs?: number;
}

/**
 * Pushes a round's credentials to an identity's containers, with bounded concurrency: the
 * containers holding the oldest credentials first and those whose last push failed last, a
 * container with a push under way is passed over (it gets one more after it), and a push past its
 * patience frees its slot. A newer round of the identity supersedes an older one's dispatch, which
 * then starts no more pushes: what it left undone holds the oldest credentials, and goes first in
 * the newer round (in a fixed order, an engine too slow for the whole round in one refresh period
 * left the same containers out every round, until their credentials expired).
 */
export class RefreshDispatcher {
  private readonly dispatches = new Map<string, AbortController>();

  constructor(private readonly options: DispatchOptions) {}

  /** Resolves once every push it started has ended (each is bounded by the exec time limit). */
  async dispatch(want: PushWant, users: readonly ManagedContainer[]): Promise<RoundTally> {
    const { push, concurrency, clock, signal } = this.options;
    this.dispatches.get(want.identity)?.abort();
    const controller = new AbortController();
    this.dispatches.set(want.identity, controller);
    const ordered = [...users].sort(
      (a, b) =>
        Number(a.lastError !== undefined) - Number(b.lastError !== undefined) ||
        (a.credentialExpiry ?? -Infinity) - (b.credentialExpiry ?? -Infinity),
    );
    const tally: RoundTally = { pushed: [], current: 0, busy: [], failed: [], skipped: users.length };
    const record = (managed: ManagedContainer, outcome: PushOutcome) => {
      tally.skipped--;
      const name = managed.details.name;
      if (outcome === "pushed") tally.pushed.push(name);
      else if (outcome === "current") tally.current++;
      else if (outcome === "busy") tally.busy.push(name);
      else if (outcome === "failed") tally.failed.push(name);
      else tally.skipped++;
    };
    try {
      await forEachLimited(
        ordered,
        concurrency,
        async (managed) => {
          record(managed, await push(managed, "refresh", want));
        },
        {
          patience: { ms: this.options.patienceMs ?? PUSH_PATIENCE_MS, clock },
          signal: AbortSignal.any([signal, controller.signal]),
        },
      );
    } finally {
      if (this.dispatches.get(want.identity) === controller) this.dispatches.delete(want.identity);
    }
    return tally;
  }
}

/** "1 pushed, 18 current, 1 failed (web-3), 10 busy with an earlier push (hung-1, …)". */
export function describeTally(tally: RoundTally): string {
  const names = (list: readonly string[]) => {
    const shown = list.slice(0, 5).join(", ");
    return list.length > 5 ? `${shown}, and ${String(list.length - 5)} more` : shown;
  };
  const parts = [`${String(tally.pushed.length)} pushed`, `${String(tally.current)} current`];
  if (tally.failed.length > 0) parts.push(`${String(tally.failed.length)} failed (${names(tally.failed)})`);
  if (tally.busy.length > 0)
    parts.push(`${String(tally.busy.length)} busy with an earlier push (${names(tally.busy)})`);
  if (tally.skipped > 0) parts.push(`${String(tally.skipped)} skipped`);
  return parts.join(", ");
}
