import type { AgentEmitter } from "../agent/agent-events.js";
import type { BackoffOptions } from "../agent/backoff.js";
import { backoffMs } from "../agent/backoff.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import type { Clock } from "../runtime/clock.js";
import { systemClock } from "../runtime/clock.js";
import type { Deps } from "../runtime/deps.js";
import { deliveryProfiles, resolveTargetProfiles } from "./attach.js";
import { pushToTarget } from "./remote-push.js";
import type { TargetState } from "./remote-target.js";
import { targetId } from "./remote-target.js";
import { knownHostsFile } from "./ssh-transport.js";
import { queryState } from "./target-state.js";
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
}

interface Served {
  target: AttachedTarget;
  /** The attachment as stored: a re-attach (other profiles, a new probe) starts afresh. */
  stored: string;
  busy: boolean;
  state?: TargetState;
  /** Access key ids of what the target holds, as far as the agent knows. */
  pushed?: string | undefined;
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
 * time limit, so one that hangs delays no other; a failed one waits out a backoff. Resolves when
 * the signal aborts.
 */
export async function superviseRemoteTargets(options: RemoteSupplyOptions): Promise<void> {
  const { deps, signal } = options;
  const file = targetStoreFile(deps.env, deps.paths.home);
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const clock = options.clock ?? systemClock;
  const served = new Map<string, Served>();
  let storeProblem: string | undefined;
  while (!signal.aborted) {
    try {
      const targets = await readTargets(file);
      storeProblem = undefined;
      const ids = new Set(targets.map((t) => targetId(t.route)));
      for (const id of served.keys()) if (!ids.has(id)) served.delete(id);
      for (const target of targets) {
        const id = targetId(target.route);
        const stored = JSON.stringify(target);
        if (served.get(id)?.stored !== stored) {
          served.set(id, { target, stored, busy: false, failures: 0, notBefore: 0 });
        }
      }
    } catch (err) {
      // A broken file keeps the targets already known; said once, not every round.
      const message = (err as Error).message;
      if (message !== storeProblem) deps.logger.warn(`remote targets: ${message}`);
      storeProblem = message;
    }
    const now = clock.now();
    for (const entry of served.values()) {
      if (entry.busy || now < entry.notBefore) continue;
      entry.busy = true;
      void serve(entry, options, clock).finally(() => {
        entry.busy = false;
      });
    }
    await clock.sleep(pollMs, signal).catch(() => undefined);
  }
}

async function serve(entry: Served, options: RemoteSupplyOptions, clock: Clock): Promise<void> {
  const { deps, emitter, signal } = options;
  const { route, probe } = entry.target;
  const id = targetId(route);
  try {
    const { state, detail } = await queryState(route, deps.env, signal);
    if (state !== "available") {
      // Its tmpfs empties when it stops: whatever it held is gone.
      entry.pushed = undefined;
      if (entry.state !== state) {
        deps.logger.info(
          `${id} is ${state}${detail === undefined ? "" : ` (${detail})`}: not connecting to it`,
        );
        emitter.emit("remoteSkipped", { target: id, state, at: clock.now() });
      }
      entry.state = state;
      return;
    }
    entry.state = state;
    const resolved = await resolveTargetProfiles(deps, entry.target.profiles);
    const profiles = await deliveryProfiles(resolved, entry.target.profiles, options.obtain);
    const keys = profiles.map((p) => p.credentials.accessKeyId).join(",");
    if (keys === entry.pushed) return;
    // Detached (or re-attached) while the credentials were fetched: its entry says so, not this one.
    const current = (await readTargets(targetStoreFile(deps.env, deps.paths.home))).find(
      (t) => targetId(t.route) === id,
    );
    if (current === undefined || JSON.stringify(current) !== entry.stored) return;
    const knownHosts = knownHostsFile(deps.env, deps.paths.home);
    await pushToTarget(route, probe, profiles, {
      env: deps.env,
      knownHosts,
      mode: "verify",
      signal,
      ...(options.sshTimeoutMs === undefined ? {} : { timeoutMs: options.sshTimeoutMs }),
    });
    entry.pushed = keys;
    entry.failures = 0;
    const expiration = Math.min(...profiles.map((p) => p.credentials.expiration.getTime()));
    deps.logger.info(`pushed ${entry.target.profiles.join(", ")} to ${id}`);
    emitter.emit("remotePushed", {
      target: id,
      profiles: entry.target.profiles,
      expiration,
      at: clock.now(),
    });
  } catch (err) {
    if (signal.aborted) return;
    const retryInMs = backoffMs(entry.failures++, options.retry ?? { baseMs: 5000, maxMs: 5 * 60_000 });
    entry.notBefore = clock.now() + retryInMs;
    const error = (err as Error).message;
    deps.logger.warn(
      `push to ${id} failed: ${error}; trying again in ${String(Math.round(retryInMs / 1000))} s`,
    );
    emitter.emit("remoteFailed", { target: id, error, retryInMs, at: clock.now() });
  }
}
