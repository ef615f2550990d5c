import type { AgentEmitter } from "../agent/agent-events.js";
import type { BackoffOptions } from "../agent/backoff.js";
import { backoffMs } from "../agent/backoff.js";
import { hasTokenFile } from "../aws-files/token-cache.js";
import { refreshDueAt } from "../credentials/refresh-timing.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import type { Clock } from "../runtime/clock.js";
import { systemClock } from "../runtime/clock.js";
import type { Deps } from "../runtime/deps.js";
import { isoSeconds } from "../runtime/time-format.js";
import { deliveryProfiles, resolveTargetProfiles } from "./attach.js";
import { pushToTarget } from "./remote-push.js";
import { RemoteTargetRefusal, targetId } from "./remote-target.js";
import { knownHostsFile } from "./ssh-transport.js";
import { queryState } from "./target-state.js";
import type { RemoteTargetState, SeenState } from "./target-status.js";
import { withTargetLock } from "./target-lock.js";
import type { AttachedTarget } from "./target-store.js";
import { readTargets, targetStoreFile } from "./target-store.js";

export interface RemoteSupplyTuning {
  /** How often each target's state is asked and its credentials compared with the pushed ones. */
  pollMs?: number;
  /** Backoff after a failed push to one target. */
  retry?: BackoffOptions;
  /** An ssh connection (connect command included) is killed after this. */
  sshTimeoutMs?: number;
  /**
   * Default: the system clock, not the agent's. The rounds poll on their own, so on an agent
   * test's manual clock they would be one more sleeper in every step of its timeline.
   */
  clock?: Clock;
}

export interface RemoteSupplyOptions extends RemoteSupplyTuning {
  deps: Deps;
  /** The agent's way to credentials: waits out a sign-out, shares fetches with its containers. */
  obtain: (resolved: ResolvedProfile) => Promise<RoleCredentials>;
  emitter: AgentEmitter;
  signal: AbortSignal;
  /** Called when what `states()` returns has changed (for the agent's state file). */
  onChange?: () => void;
}

interface Served {
  target: AttachedTarget;
  /** The attachment as stored: a re-attach (other profiles, a new probe) starts afresh. */
  stored: string;
  busy: boolean;
  /** What was last seen of it; undefined until its first round. */
  seen?: { state: SeenState; reason?: string; hint?: string };
  /** Access key ids of what the target holds, as far as the agent knows. */
  pushed?: string | undefined;
  lastPush?: number;
  expiration?: number;
  failures: number;
  notBefore: number;
}

const DEFAULT_POLL_MS = 30_000;

/**
 * Keeps every attached remote target (remote-targets.json, re-read each round so attach and
 * detach take effect) supplied: each round asks the platform for each target's state, never
 * connecting to one that is not available (a connect would start a stopped codespace), and pushes
 * when the target holds other credentials than the current ones: after rotation, or when it comes
 * back (a stopped target's tmpfs is empty). Each target is served on its own, bounded by the ssh
 * time limit, so one that hangs delays no other; a failed one waits out a backoff. Needs no Docker
 * engine. `states()` is what it last saw of each, for `sso-docker status`.
 */
export class RemoteSupplier {
  private readonly served = new Map<string, Served>();
  private readonly clock: Clock;

  constructor(private readonly options: RemoteSupplyOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Serves the targets in rounds; resolves when the signal aborts. */
  async run(): Promise<void> {
    const { deps, signal } = this.options;
    const file = targetStoreFile(deps.env, deps.paths.home);
    const pollMs = this.options.pollMs ?? DEFAULT_POLL_MS;
    let storeProblem: string | undefined;
    while (!signal.aborted) {
      try {
        this.track(await readTargets(file));
        storeProblem = undefined;
      } catch (err) {
        // A broken file keeps the targets already known; said once, not every round.
        const message = (err as Error).message;
        if (message !== storeProblem) deps.logger.warn(`remote targets: ${message}`);
        storeProblem = message;
      }
      for (const entry of this.served.values()) this.dispatch(entry);
      await this.clock.sleep(pollMs, signal).catch(() => undefined);
    }
  }

  /** Serves the target now unless it is being served or waits out a backoff. */
  private dispatch(entry: Served): void {
    if (entry.busy || this.clock.now() < entry.notBefore) return;
    entry.busy = true;
    void this.serve(entry).finally(() => {
      entry.busy = false;
    });
  }

  /**
   * Serves the target again when what it was just given falls due (refresh-timing), not at the
   * next poll after: with short-lived credentials a poll could come too late (40-s credentials
   * were used within 8 s of expiry in bench/remote-rotation.mjs with 30-s polls alone).
   */
  private serveWhenDue(entry: Served, dueAt: number): void {
    const id = targetId(entry.target.route);
    this.clock.sleep(Math.max(0, dueAt - this.clock.now()), this.options.signal).then(
      () => {
        if (this.served.get(id) === entry) this.dispatch(entry);
      },
      () => undefined,
    );
  }

  /** What the agent last saw of each target it serves: names, times and messages only. */
  states(): RemoteTargetState[] {
    return [...this.served.values()].flatMap(({ target, seen, lastPush, expiration, notBefore }) =>
      seen === undefined
        ? []
        : [
            {
              target: targetId(target.route),
              profiles: target.profiles,
              ...seen,
              ...(seen.state === "failing" || seen.state === "refused"
                ? { nextTry: isoSeconds(notBefore) }
                : {}),
              ...(lastPush === undefined ? {} : { lastPush: isoSeconds(lastPush) }),
              ...(expiration === undefined ? {} : { credentialExpiry: isoSeconds(expiration) }),
            },
          ],
    );
  }

  /** Follows the stored list: new and re-attached targets start afresh, detached ones are dropped. */
  private track(targets: readonly AttachedTarget[]): void {
    const ids = new Set(targets.map((t) => targetId(t.route)));
    let changed = false;
    for (const id of this.served.keys()) {
      if (!ids.has(id)) changed = this.served.delete(id);
    }
    for (const target of targets) {
      const id = targetId(target.route);
      const stored = JSON.stringify(target);
      if (this.served.get(id)?.stored !== stored) {
        changed ||= this.served.has(id);
        this.served.set(id, { target, stored, busy: false, failures: 0, notBefore: 0 });
      }
    }
    if (changed) this.options.onChange?.();
  }

  /** Records what was seen; the state file is rewritten when that changed, or when `always`. */
  private see(entry: Served, seen: NonNullable<Served["seen"]>, always = false): void {
    const before = entry.seen;
    entry.seen = seen;
    if (always || before?.state !== seen.state || before.reason !== seen.reason) this.options.onChange?.();
  }

  private async serve(entry: Served): Promise<void> {
    const { deps, emitter, signal } = this.options;
    const { clock } = this;
    const { route, probe } = entry.target;
    const id = targetId(route);
    try {
      const { state, detail } = await queryState(route, deps.env, signal);
      if (state !== "available") {
        // Its tmpfs empties when it stops: whatever it held is gone.
        entry.pushed = undefined;
        if (entry.seen?.state !== state) {
          deps.logger.info(
            `${id} is ${state}${detail === undefined ? "" : ` (${detail})`}: not connecting to it`,
          );
          emitter.emit("remoteSkipped", { target: id, state, at: clock.now() });
        }
        this.see(entry, { state, ...(detail === undefined ? {} : { reason: detail }) });
        return;
      }
      const resolved = await resolveTargetProfiles(deps, entry.target.profiles);
      const obtained: RoleCredentials[] = [];
      const profiles = await deliveryProfiles(resolved, entry.target.profiles, async (r) => {
        const credentials = await this.options.obtain(r);
        obtained.push(credentials);
        return credentials;
      });
      const keys = profiles.map((p) => p.credentials.accessKeyId).join(",");
      if (keys === entry.pushed) {
        this.see(entry, { state });
        return;
      }
      const pushed = await withTargetLock(deps.env, deps.paths.home, route, async () => {
        // Detached (or re-attached) while the credentials were fetched: its entry says so, not this
        // one. Signed out meanwhile: these credentials must not go anywhere again.
        const current = (await readTargets(targetStoreFile(deps.env, deps.paths.home))).find(
          (t) => targetId(t.route) === id,
        );
        if (current === undefined || JSON.stringify(current) !== entry.stored) return false;
        const signedIn = await Promise.all(
          resolved.map((r) => hasTokenFile(deps.paths.ssoCacheDir, r.session)),
        );
        if (signedIn.includes(false)) return false;
        await pushToTarget(route, probe, profiles, {
          env: deps.env,
          knownHosts: knownHostsFile(deps.env, deps.paths.home),
          mode: "verify",
          signal,
          ...(this.options.sshTimeoutMs === undefined ? {} : { timeoutMs: this.options.sshTimeoutMs }),
        });
        return true;
      });
      if (!pushed) return;
      entry.pushed = keys;
      entry.failures = 0;
      this.serveWhenDue(entry, Math.min(...obtained.map(refreshDueAt)));
      const expiration = Math.min(...profiles.map((p) => p.credentials.expiration.getTime()));
      entry.lastPush = clock.now();
      entry.expiration = expiration;
      this.see(entry, { state }, true);
      deps.logger.info(`pushed ${entry.target.profiles.join(", ")} to ${id}`);
      emitter.emit("remotePushed", {
        target: id,
        profiles: entry.target.profiles,
        expiration,
        at: clock.now(),
      });
    } catch (err) {
      if (signal.aborted) return;
      const retryInMs = backoffMs(
        entry.failures++,
        this.options.retry ?? { baseMs: 5000, maxMs: 5 * 60_000 },
      );
      entry.notBefore = clock.now() + retryInMs;
      const error = (err as Error).message;
      const hint = RemoteTargetRefusal.is(err) ? err.hint : undefined;
      const state = RemoteTargetRefusal.is(err) ? "refused" : "failing";
      this.see(entry, { state, reason: error, ...(hint === undefined ? {} : { hint }) }, true);
      deps.logger.warn(
        `push to ${id} failed: ${error}; trying again in ${String(Math.round(retryInMs / 1000))} s`,
      );
      emitter.emit("remoteFailed", { target: id, error, retryInMs, at: clock.now() });
    }
  }
}
