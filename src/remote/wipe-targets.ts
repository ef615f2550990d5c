import type { Deps } from "../runtime/deps.js";
import { wipeTarget } from "./remote-push.js";
import { targetId } from "./remote-target.js";
import { knownHostsFile } from "./ssh-transport.js";
import { queryState } from "./target-state.js";
import { withTargetLock } from "./target-lock.js";
import { readTargets, targetStoreFile } from "./target-store.js";

export interface RemoteWipeReport {
  wiped: string[];
  /** Not running: nothing connected to (its tmpfs emptied when it stopped). */
  notRunning: string[];
  failed: { target: string; error: string }[];
}

/**
 * Removes the credentials from every attached target that runs (logout, after the token files
 * are gone); they stay attached, so the agent supplies them again after the next sign-in. A
 * stopped one is not woken for it.
 * Targets are wiped one after the other: each ssh is bounded by its time limit.
 */
export async function wipeAttachedTargets(deps: Deps): Promise<RemoteWipeReport> {
  const report: RemoteWipeReport = { wiped: [], notRunning: [], failed: [] };
  const targets = await readTargets(targetStoreFile(deps.env, deps.paths.home));
  const knownHosts = knownHostsFile(deps.env, deps.paths.home);
  for (const { route, probe } of targets) {
    const id = targetId(route);
    try {
      // After a push already under way: the agent sees the sign-out before any later one.
      await withTargetLock(deps.env, deps.paths.home, route, async () => {
        const { state, detail } = await queryState(route, deps.env);
        if (state === "stopped" || state === "gone") {
          report.notRunning.push(id);
          return;
        }
        if (state === "unknown") {
          // Connecting might start it; its platform CLI has to answer first.
          report.failed.push({
            target: id,
            error: `its state is unknown (${detail ?? "no answer"}); not connecting`,
          });
          return;
        }
        await wipeTarget(route, probe, { env: deps.env, knownHosts, mode: "verify" });
        report.wiped.push(id);
      });
    } catch (err) {
      report.failed.push({ target: id, error: (err as Error).message });
    }
  }
  return report;
}
