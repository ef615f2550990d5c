import type { DockerEngine } from "../docker/engine.js";
import { wipeCredentials } from "../delivery/wipe-credentials.js";
import type { ParticipationRule } from "./participation.js";
import { usesFeature } from "./devcontainer.js";
import { DEFAULT_RULES, participationOf } from "./participation.js";

export interface WipeManagedResult {
  /** Names of the containers whose synced credentials were removed. */
  wiped: string[];
  failed: { name: string; error: string }[];
}

/**
 * For `sso-docker logout`: removes pushed credentials from every running container that
 * takes part (label, env or the Dev Container Feature), whoever pushed them (the agent or `sso-docker run`).
 */
export async function wipeManagedContainers(
  engine: DockerEngine,
  options: { rules?: readonly ParticipationRule[]; labels?: readonly string[] } = {},
): Promise<WipeManagedResult> {
  const rules = options.rules ?? DEFAULT_RULES;
  const result: WipeManagedResult = { wiped: [], failed: [] };
  // Participation by env cannot be filtered by the engine: look at every running container.
  const running = await engine.listContainers(options.labels === undefined ? {} : { labels: options.labels });
  await Promise.all(
    running.map(async ({ id, name }) => {
      try {
        const details = await engine.inspectContainer(id);
        if (!participationOf(details, rules) && !usesFeature(details)) return;
        const wipe = await wipeCredentials(engine, details);
        if (wipe.wiped) result.wiped.push(details.name);
      } catch (err) {
        result.failed.push({ name, error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  result.wiped.sort();
  return result;
}
