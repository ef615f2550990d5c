import { grantArgs, grantFor } from "../../agent/grant.js";
import { loadGrantKey } from "../../agent/grant-key.js";
import { selectProfileName } from "../../aws-files/profiles.js";
import { resolveProfile } from "../../credentials/resolve-profile.js";
import { validateProfileName } from "../../delivery/profile-files.js";
import { createDeps } from "../../runtime/deps.js";
import type { GlobalOptions } from "../global-options.js";

/**
 * `sso-docker grant`: what binds a container to this user's agent, for `docker run` and
 * compose. Only profiles that exist and that containers may have (the allow-list) are granted.
 */
export async function runGrant(
  flags: { profile?: string[]; format?: "args" | "value" },
  globals: GlobalOptions,
): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const names = flags.profile?.length ? flags.profile : [selectProfileName({ env: deps.env })];
  for (const name of names) {
    await resolveProfile(deps, name, { forContainer: true });
    validateProfileName(name);
  }
  const key = await loadGrantKey(deps.env, deps.paths.home);
  const text = flags.format === "value" ? grantFor(key, names) : grantArgs(key, names).join(" ");
  process.stdout.write(`${text}\n`);
}
