import { GRANT_ENV, GRANT_LABEL, grantFor } from "../../src/agent/grant.js";
import { loadGrantKey } from "../../src/agent/grant-key.js";
import { PROFILES_ENV, PROFILES_LABEL } from "../../src/agent/participation.js";

/**
 * The labels `sso-docker grant --profile …` prints for the user of a test HOME: they bind a
 * container to that HOME's agent (its grant key lives in HOME/.sso-docker unless `env` sets
 * XDG_STATE_HOME).
 */
export async function grantLabels(
  home: string,
  profiles: string,
  env: Record<string, string> = { HOME: home },
): Promise<Record<string, string>> {
  const key = await loadGrantKey(env, home);
  return { [PROFILES_LABEL]: profiles, [GRANT_LABEL]: grantFor(key, profiles.split(",")) };
}

/** The same as `docker run` flags. */
export async function grantFlags(home: string, profiles: string): Promise<string[]> {
  const labels = await grantLabels(home, profiles);
  return Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
}

/** The same as the env pair a container config can carry instead of the labels. */
export async function grantEnv(home: string, profiles: string): Promise<Record<string, string>> {
  const labels = await grantLabels(home, profiles);
  return { [PROFILES_ENV]: profiles, [GRANT_ENV]: labels[GRANT_LABEL] ?? "" };
}
