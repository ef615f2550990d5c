import type { ContainerDetails } from "../docker/engine.js";

/** `--label sso-docker.profiles=dev,ops`: what compose services and `sso-docker run -d` set. */
export const PROFILES_LABEL = "sso-docker.profiles";
/** `--label sso-docker.user=NAME`: owner of the pushed files instead of the container's user. */
export const USER_LABEL = "sso-docker.user";
/** `SSO_DOCKER_PROFILES=dev,ops` in the container config: what the Dev Container Feature sets. */
export const PROFILES_ENV = "SSO_DOCKER_PROFILES";

/** How a container takes part: the profiles it asked for (first = default) and who owns the files. */
export interface Participation {
  profiles: string[];
  /** Owner override; undefined = the container's `Config.User`. */
  user?: string;
  /** Which rule recognised it, for logs. */
  source: string;
}

/** What a rule may look at: the container's configuration, never its files. */
export type ParticipationInput = Pick<ContainerDetails, "labels" | "env">;

/**
 * One way a container can opt in. Rules are tried in order and the first match wins, so a
 * later rule (Dev Container labels, `devcontainer.metadata` remoteUser) is one more entry.
 */
export type ParticipationRule = (container: ParticipationInput) => Participation | undefined;

/** `a, b,,a` → ["a", "b"]: trimmed, empties and repeats dropped, order kept. */
export function parseProfileList(value: string): string[] {
  const seen = new Set<string>();
  for (const name of value.split(",")) {
    const trimmed = name.trim();
    if (trimmed !== "") seen.add(trimmed);
  }
  return [...seen];
}

function userOverride(container: ParticipationInput): { user?: string } {
  const user = container.labels[USER_LABEL]?.trim();
  return user ? { user } : {};
}

export const labelRule: ParticipationRule = (container) => {
  const value = container.labels[PROFILES_LABEL];
  const profiles = value === undefined ? [] : parseProfileList(value);
  return profiles.length === 0 ? undefined : { profiles, ...userOverride(container), source: "label" };
};

export const envRule: ParticipationRule = (container) => {
  const value = container.env[PROFILES_ENV];
  const profiles = value === undefined ? [] : parseProfileList(value);
  return profiles.length === 0 ? undefined : { profiles, ...userOverride(container), source: "env" };
};

/** The label beats the env: a compose file can narrow what an image's env asks for. */
export const DEFAULT_RULES: readonly ParticipationRule[] = [labelRule, envRule];

/** The container's participation, or undefined when it did not opt in (then it gets nothing). */
export function participationOf(
  container: ParticipationInput,
  rules: readonly ParticipationRule[] = DEFAULT_RULES,
): Participation | undefined {
  for (const rule of rules) {
    const match = rule(container);
    if (match) return match;
  }
  return undefined;
}

/** Whether a listing's labels alone show participation (env needs an inspect). */
export function hasParticipationLabel(labels: Readonly<Record<string, string>>): boolean {
  return labelRule({ labels, env: {} }) !== undefined;
}
