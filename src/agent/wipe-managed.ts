import type { DockerEngine } from "../docker/engine.js";
import { wipeCredentials } from "../delivery/wipe-credentials.js";
import { checkBinding } from "./binding.js";
import type { ParticipationRule } from "./participation.js";
import { usesFeature } from "./devcontainer.js";
import { DEFAULT_RULES, participationOf } from "./participation.js";
import { messageOf } from "../runtime/message-of.js";

export interface WipeManagedResult {
  /** Names of the containers whose synced credentials were removed. */
  wiped: string[];
  /** Names of participating containers not bound to this user: left alone. */
  foreign: string[];
  failed: { name: string; error: string }[];
}

/**
 * For `sso-docker logout`: removes pushed credentials from every running container that takes
 * part (label, env or the Dev Container Feature) and is bound to the user of `grantKey` — the
 * ones this user's agent and `sso-docker run` supply (binding.ts), decided from each container's
 * config, never from anything inside it.
 */
export async function wipeManagedContainers(
  engine: DockerEngine,
  options: {
    grantKey: Buffer;
    rules?: readonly ParticipationRule[];
    labels?: readonly string[];
    uid?: number;
  },
): Promise<WipeManagedResult> {
  const rules = options.rules ?? DEFAULT_RULES;
  const result: WipeManagedResult = { wiped: [], foreign: [], failed: [] };
  // Participation by env cannot be filtered by the engine: look at every running container.
  const running = await engine.listContainers(options.labels === undefined ? {} : { labels: options.labels });
  await Promise.all(
    running.map(async ({ id, name }) => {
      try {
        const details = await engine.inspectContainer(id);
        const participation = participationOf(details, rules);
        if (!participation && !usesFeature(details)) return;
        // A Feature container's profiles are in its image: whose it is needs only its devcontainer.json.
        const binding = await checkBinding(details, participation, options.grantKey, options.uid);
        if (!binding.bound) {
          result.foreign.push(details.name);
          return;
        }
        const wipe = await wipeCredentials(engine, details);
        if (wipe.wiped) result.wiped.push(details.name);
      } catch (err) {
        result.failed.push({ name, error: messageOf(err) });
      }
    }),
  );
  result.wiped.sort();
  result.foreign.sort();
  return result;
}
