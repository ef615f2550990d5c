import type { DockerEngine } from "../docker/engine.js";
import { wipeCredentials } from "../delivery/wipe-credentials.js";
import type { ParticipationRule } from "./participation.js";
import { usesFeature } from "./devcontainer.js";
import { DEFAULT_RULES, participationOf } from "./participation.js";

export interface WipeManagedResult {
  /** Names of the containers whose synced credentials were removed. */
  wiped: string[];
  /** Names of participating containers another host side supplies: left alone. */
  foreign: string[];
  failed: { name: string; error: string }[];
}

/**
 * For `sso-docker logout`: removes pushed credentials from every running container that
 * takes part (label, env or the Dev Container Feature) and that `ownedBy` supplied (the agent
 * or `sso-docker run` of this user and HOME); with no `ownedBy`, from all of them.
 */
export async function wipeManagedContainers(
  engine: DockerEngine,
  options: { rules?: readonly ParticipationRule[]; labels?: readonly string[]; ownedBy?: string } = {},
): Promise<WipeManagedResult> {
  const rules = options.rules ?? DEFAULT_RULES;
  const result: WipeManagedResult = { wiped: [], foreign: [], failed: [] };
  // Participation by env cannot be filtered by the engine: look at every running container.
  const running = await engine.listContainers(options.labels === undefined ? {} : { labels: options.labels });
  await Promise.all(
    running.map(async ({ id, name }) => {
      try {
        const details = await engine.inspectContainer(id);
        if (!participationOf(details, rules) && !usesFeature(details)) return;
        const wipe = await wipeCredentials(
          engine,
          details,
          options.ownedBy === undefined ? {} : { ownedBy: options.ownedBy },
        );
        if (wipe.wiped) result.wiped.push(details.name);
        if (wipe.foreign === true) result.foreign.push(details.name);
      } catch (err) {
        result.failed.push({ name, error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  result.wiped.sort();
  result.foreign.sort();
  return result;
}
