import type { Deps } from "../runtime/deps.js";
import { targetId } from "./remote-target.js";
import { readTargets, targetStoreFile } from "./target-store.js";

/** One attached target as `status` shows it: from remote-targets.json, asking no platform. */
export interface RemoteTargetStatus {
  target: string;
  profiles: string[];
  user?: string;
  secretDir: "tmpfs" | "shm";
  attachedAt: string;
}

export interface RemoteTargetsReport {
  targets: RemoteTargetStatus[];
  /** Why the file could not be read. */
  problem?: string;
}

export async function remoteTargetsReport(deps: Deps): Promise<RemoteTargetsReport> {
  try {
    const targets = await readTargets(targetStoreFile(deps.env, deps.paths.home));
    return {
      targets: targets.map(({ route, profiles, probe, attachedAt }) => ({
        target: targetId(route),
        profiles,
        ...(route.user === undefined ? {} : { user: route.user }),
        secretDir: probe.layout,
        attachedAt,
      })),
    };
  } catch (err) {
    return { targets: [], problem: (err as Error).message };
  }
}
