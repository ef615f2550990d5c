import type { Clock } from "../runtime/clock.js";

interface Identity {
  timer?: { dueAt: number; controller: AbortController };
  running: boolean;
  /** The timer fell due while a round ran: one more round follows it. */
  again: boolean;
  /** Earliest due time asked for while a round ran; the round's own re-arm usually covers it. */
  pending?: number;
  /** Due time of the newest credentials a round fetched; earlier ones belong to older credentials. */
  floor: number;
}

/**
 * One timer per credential identity (session, account, role). When it fires, `onDue` runs a
 * round: it fetches once, calls `rearm` with the next due time right away (so pushes never delay
 * the next round), and starts the pushes. Rounds of one identity never overlap: a round that falls
 * due while one runs is coalesced into one follow-up.
 */
export class RefreshScheduler {
  private readonly identities = new Map<string, Identity>();

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

  /**
   * A container now holds credentials of `key` due at `dueAt`: makes sure a round runs by then.
   * Credentials older than the newest a round fetched need no round of their own (that round
   * pushes the newer ones to every container lacking them), and while a round runs its re-arm
   * decides: so a burst of container starts never adds rounds.
   */
  ensure(key: string, dueAt: number): void {
    const identity = this.identityOf(key);
    if (dueAt < identity.floor) return;
    if (identity.running) {
      identity.pending = Math.min(identity.pending ?? Infinity, dueAt);
      return;
    }
    if (identity.timer && identity.timer.dueAt <= dueAt) return;
    this.arm(key, identity, dueAt);
  }

  /** The round fetched credentials due at `dueAt`: the identity's timer is set to that, whatever it was. */
  rearm(key: string, dueAt: number): void {
    const identity = this.identityOf(key);
    identity.floor = dueAt;
    this.arm(key, identity, dueAt);
  }

  /**
   * A round at `at` outside the credentials' own schedule (a round that failed, a new sign-in
   * after a logout): the floor does not apply, since the credentials it guards may be gone.
   */
  runAt(key: string, at: number): void {
    const identity = this.identityOf(key);
    if (identity.timer && identity.timer.dueAt <= at) return;
    this.arm(key, identity, at);
  }

  cancel(key: string): void {
    const identity = this.identities.get(key);
    identity?.timer?.controller.abort();
    if (identity) delete identity.timer;
  }

  dueAt(key: string): number | undefined {
    return this.identities.get(key)?.timer?.dueAt;
  }

  /** Whether a round of `key` runs now. */
  running(key: string): boolean {
    return this.identities.get(key)?.running ?? false;
  }

  /** Identities with a timer set. */
  get size(): number {
    return [...this.identities.values()].filter((i) => i.timer !== undefined).length;
  }

  private identityOf(key: string): Identity {
    let identity = this.identities.get(key);
    if (!identity) {
      identity = { running: false, again: false, floor: -Infinity };
      this.identities.set(key, identity);
    }
    return identity;
  }

  private arm(key: string, identity: Identity, dueAt: number): void {
    identity.timer?.controller.abort();
    delete identity.timer;
    if (this.signal.aborted) return;
    const controller = new AbortController();
    const timer = { dueAt, controller };
    identity.timer = timer;
    const wait = Math.max(0, dueAt - this.clock.now()) + this.slackMs;
    this.clock.sleep(wait, AbortSignal.any([this.signal, controller.signal])).then(
      () => {
        if (identity.timer === timer) delete identity.timer;
        if (identity.running) identity.again = true;
        else void this.run(key, identity);
      },
      () => {
        // Replaced, cancelled or the agent stopped.
        if (identity.timer === timer) delete identity.timer;
      },
    );
  }

  /** A method, not the property: the compiler cannot see a round set it meanwhile. */
  private dueAgain(identity: Identity): boolean {
    return identity.again && !this.signal.aborted;
  }

  private async run(key: string, identity: Identity): Promise<void> {
    identity.running = true;
    try {
      do {
        identity.again = false;
        await this.onDue(key).catch(() => undefined); // onDue reports its own failures
      } while (this.dueAgain(identity));
    } finally {
      identity.running = false;
    }
    const pending = identity.pending;
    delete identity.pending;
    if (pending !== undefined) this.ensure(key, pending);
  }
}
