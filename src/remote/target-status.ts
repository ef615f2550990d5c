import type { Deps } from "../runtime/deps.js";
import type { TargetState } from "./remote-target.js";
import { targetId } from "./remote-target.js";
import { readTargets, targetStoreFile } from "./target-store.js";

/**
 * What the agent last saw of a target: the platform's answer (`available`, `stopped`, `gone`,
 * `unknown`), `refused` when the target answered but cannot be pushed to until it is attached
 * again (another host key, no tmpfs), `failing` when a push failed and is tried again later.
 */
export type SeenState = TargetState | "refused" | "failing";

/** One target in the agent's state file (agent-state.ts): names, times and messages, never a secret. */
export interface RemoteTargetState {
  target: string;
  profiles: string[];
  state: SeenState;
  /** Why it is not `available`: the platform's words, the refusal or the push error. */
  reason?: string;
  /** The next command to run, for a refusal. */
  hint?: string;
  /** When a failed push is tried again. */
  nextTry?: string;
  lastPush?: string;
  /** Earliest expiry of the credentials of the last push. */
  credentialExpiry?: string;
}

/** One attached target as `status` shows it: remote-targets.json joined with the agent's view, asking no platform. */
export interface RemoteTargetStatus {
  target: string;
  profiles: string[];
  user?: string;
  secretDir: "tmpfs" | "shm";
  attachedAt: string;
  /** The agent's view; absent when it has not served this attachment yet. */
  seen?: RemoteTargetState;
}

export interface RemoteTargetsReport {
  targets: RemoteTargetStatus[];
  /** Why the file could not be read. */
  problem?: string;
}

/**
 * The attached targets, each with what the agent last saw of it (`seen`, from its state file).
 * A view of other profiles than the attachment's predates a re-attach, and is left out.
 */
export async function remoteTargetsReport(
  deps: Deps,
  seen: readonly RemoteTargetState[] = [],
): Promise<RemoteTargetsReport> {
  try {
    const targets = await readTargets(targetStoreFile(deps.env, deps.paths.home));
    return {
      targets: targets.map(({ route, profiles, probe, attachedAt }) => {
        const id = targetId(route);
        const view = seen.find((s) => s.target === id && s.profiles.join() === profiles.join());
        return {
          target: id,
          profiles,
          ...(route.user === undefined ? {} : { user: route.user }),
          secretDir: probe.layout,
          attachedAt,
          ...(view === undefined ? {} : { seen: view }),
        };
      }),
    };
  } catch (err) {
    return { targets: [], problem: (err as Error).message };
  }
}
