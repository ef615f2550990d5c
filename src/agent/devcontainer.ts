import { validateProfileName } from "../delivery/profile-files.js";
import type { ContainerDetails, DockerEngine } from "../docker/engine.js";
import type { Logger } from "../runtime/logger.js";
import type { Participation, ParticipationInput, ParticipationRule } from "./participation.js";
import { parseProfileList, participationOf, USER_LABEL } from "./participation.js";

/**
 * Dev Containers. The sso-docker Feature (devcontainer-feature/src/sso-docker) cannot put its
 * options into the container's env or labels (a Feature's containerEnv is static), so it bakes
 * `SSO_DOCKER_FEATURE=1` into the image env and writes the options to two files that the agent
 * reads with one exec. Containers made by the Dev Containers CLI / VS Code also name their
 * `remoteUser` in the `devcontainer.metadata` label: that user, not `Config.User` (often root),
 * is the one who works in the container, so it owns the credentials.
 */
export const FEATURE_ENV = "SSO_DOCKER_FEATURE";
/** One profile name a line, in the order of the Feature's `profiles` option. */
export const FEATURE_PROFILES_FILE = "/etc/sso-docker/profiles";
/** The owner the Feature resolved at build time (its `user` option, else the remote user). */
export const FEATURE_USER_FILE = "/etc/sso-docker/user";
export const METADATA_LABEL = "devcontainer.metadata";

/** Built with the Feature (the env is in the image, so it survives rebuilds of the container). */
export function usesFeature(container: Pick<ContainerDetails, "env">): boolean {
  return container.env[FEATURE_ENV] === "1";
}

/** `remoteUser` from the merged metadata: the last entry that sets it wins, as in the CLI. */
export function metadataRemoteUser(labels: Readonly<Record<string, string>>): string | undefined {
  const raw = labels[METADATA_LABEL];
  if (raw === undefined) return undefined;
  let entries: unknown;
  try {
    entries = JSON.parse(raw);
  } catch {
    return undefined;
  }
  // A single object is what older CLI versions wrote.
  const list: unknown[] = Array.isArray(entries) ? entries : [entries];
  let user: string | undefined;
  for (const entry of list) {
    const value = (entry as { remoteUser?: unknown } | null)?.remoteUser;
    if (typeof value === "string" && value.trim() !== "") user = value.trim();
  }
  return user;
}

/** Gives a Dev Container's remote user the files unless the container named an owner itself. */
export function withRemoteUser(participation: Participation, container: ParticipationInput): Participation {
  if (participation.user !== undefined) return participation;
  const remoteUser = metadataRemoteUser(container.labels);
  return remoteUser === undefined ? participation : { ...participation, user: remoteUser };
}

/**
 * The Feature's options, read from the running container as root in one exec: `cat` of the
 * profiles file then the user file, whose single line comes last. Throws with the container's
 * name when the files are missing or hold a name sso-docker cannot sync.
 */
export async function readFeatureParticipation(
  engine: DockerEngine,
  container: ContainerDetails,
  signal?: AbortSignal,
): Promise<Participation> {
  const result = await engine.exec(container.id, {
    cmd: ["cat", FEATURE_PROFILES_FILE, FEATURE_USER_FILE],
    user: "0:0",
    ...(signal === undefined ? {} : { signal }),
  });
  if (result.exitCode !== 0) {
    throw new Error(
      `container ${container.name} has SSO_DOCKER_FEATURE=1 but no readable ${FEATURE_PROFILES_FILE} / ${FEATURE_USER_FILE} (${result.stderr.trim() || `exit ${result.exitCode}`}); rebuild it with the sso-docker Feature`,
    );
  }
  // The user file is one line, so it is what follows the last newline but the final one.
  const text = result.stdout.endsWith("\n") ? result.stdout.slice(0, -1) : result.stdout;
  const cut = text.lastIndexOf("\n");
  const fileUser = text.slice(cut + 1).trim();
  const profiles = parseProfileList(cut < 0 ? "" : text.slice(0, cut).split("\n").join(","));
  if (profiles.length === 0)
    throw new Error(`container ${container.name}: ${FEATURE_PROFILES_FILE} names no profile`);
  for (const name of profiles) validateProfileName(name);
  const label = container.labels[USER_LABEL]?.trim();
  const user = label || fileUser || metadataRemoteUser(container.labels);
  return { profiles, ...(user ? { user } : {}), source: "devcontainer-feature" };
}

/**
 * What the agent asks of each container: the label/env rules first (they can narrow what an
 * image's Feature asks for), else the Feature's files; a Dev Container's remote user owns the
 * files unless the container says otherwise. Undefined (and a warning) when the Feature's files
 * cannot be read; a stopped container is read again on its start.
 */
export async function resolveParticipation(
  engine: DockerEngine,
  container: ContainerDetails,
  rules: readonly ParticipationRule[],
  options: { logger: Logger; signal?: AbortSignal },
): Promise<Participation | undefined> {
  const matched = participationOf(container, rules);
  if (matched) return withRemoteUser(matched, container);
  if (!usesFeature(container) || !container.running || container.paused) return undefined;
  try {
    return await readFeatureParticipation(engine, container, options.signal);
  } catch (err) {
    if (!options.signal?.aborted) options.logger.warn(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}
