import { validateProfileName } from "../delivery/profile-files.js";
import type { ContainerDetails } from "../docker/engine.js";
import type { Logger } from "../runtime/logger.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import type { FeatureFiles, FeatureImageReader } from "./feature-image.js";
import { FEATURE_PROFILES_FILE, FEATURE_USER_FILE } from "./feature-image.js";
import type { Participation, ParticipationInput, ParticipationRule } from "./participation.js";
import { parseProfileList, participationOf, USER_LABEL } from "./participation.js";
import { messageOf } from "../runtime/message-of.js";

/**
 * Dev Containers. The sso-docker Feature (devcontainer-feature/src/sso-docker) cannot put its
 * options into the container's env or labels (a Feature's containerEnv is static), so it bakes
 * `SSO_DOCKER_FEATURE=1` into the image env and writes the options to two files of the image,
 * which the agent reads from the image (feature-image.ts), never from the container. Containers
 * made by the Dev Containers CLI / VS Code also name their `remoteUser` in the
 * `devcontainer.metadata` label: that user, not `Config.User` (often root), is the one who works
 * in the container, so it owns the credentials.
 */
export const FEATURE_ENV = "SSO_DOCKER_FEATURE";
export { FEATURE_PROFILES_FILE, FEATURE_USER_FILE } from "./feature-image.js";
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

/** The install script's rule for its `user` option: a user name or uid, nothing a shell splits. */
const FEATURE_USER = /^[A-Za-z0-9_@][A-Za-z0-9_.@-]*$/;

/** `sha256:0123456789ab`, as `docker images` shows an image ID. */
function shortImage(image: string): string {
  return image.replace(/^(sha256:)?([0-9a-f]{12})[0-9a-f]{52}$/, "$1$2");
}

/**
 * The Feature's options, read from the container's image (`container.image` is its ID): the
 * profiles in the file's order, and the owner by precedence — the `sso-docker.user` label, the
 * Feature's user file, then the `remoteUser` of `devcontainer.metadata`. Throws, naming the
 * container and its image, when the image lacks the files or they hold what sso-docker cannot
 * sync; what the files say is quoted, never echoed raw.
 */
export async function readFeatureParticipation(
  images: FeatureImageReader,
  container: ContainerDetails,
): Promise<Participation> {
  const where = `container ${container.name} (image ${shortImage(container.image)})`;
  const rebuild = "rebuild it with the sso-docker Feature";
  let files: FeatureFiles;
  try {
    files = await images.read(container.image);
  } catch (err) {
    const reason = messageOf(err);
    throw new Error(`${where} has ${FEATURE_ENV}=1 but its image's Feature files cannot be read: ${reason}`, {
      cause: err,
    });
  }
  if (files.profiles === undefined) {
    throw new Error(
      `${where} has ${FEATURE_ENV}=1 but its image has no ${FEATURE_PROFILES_FILE}; ${rebuild}`,
    );
  }
  const profiles = parseProfileList(files.profiles.split("\n").join(","));
  if (profiles.length === 0)
    throw new Error(`${where}: ${FEATURE_PROFILES_FILE} names no profile; ${rebuild}`);
  for (const name of profiles) {
    try {
      validateProfileName(name);
    } catch {
      throw new Error(
        `${where}: ${FEATURE_PROFILES_FILE} names ${quoteForeign(name)}, which sso-docker cannot sync (letters, digits and . _ - @ + = : / only); ${rebuild}`,
      );
    }
  }
  const fileUser = (files.user ?? "").split("\n")[0]?.trim() ?? "";
  if (fileUser !== "" && !FEATURE_USER.test(fileUser)) {
    throw new Error(
      `${where}: ${FEATURE_USER_FILE} holds ${quoteForeign(fileUser)}, not a user name or uid; ${rebuild}`,
    );
  }
  const label = container.labels[USER_LABEL]?.trim();
  const user = label || fileUser || metadataRemoteUser(container.labels);
  return { profiles, ...(user ? { user } : {}), source: "devcontainer-feature" };
}

/**
 * What the agent asks of each container: the label/env rules first (they can narrow what an
 * image's Feature asks for), else the Feature's files; a Dev Container's remote user owns the
 * files unless the container says otherwise. Undefined (and a warning) when the Feature's files
 * cannot be read from the image; a stopped container is resolved again on its start.
 */
export async function resolveParticipation(
  container: ContainerDetails,
  rules: readonly ParticipationRule[],
  options: { logger: Logger; images: FeatureImageReader; signal?: AbortSignal },
): Promise<Participation | undefined> {
  const matched = participationOf(container, rules);
  if (matched) return withRemoteUser(matched, container);
  if (!usesFeature(container) || !container.running || container.paused) return undefined;
  const t0 = performance.now();
  try {
    const participation = await readFeatureParticipation(options.images, container);
    options.logger.debug(
      `${container.name}: the Feature's files of image ${shortImage(container.image)} in ${Math.round(performance.now() - t0)} ms`,
    );
    return participation;
  } catch (err) {
    if (!options.signal?.aborted) options.logger.warn(messageOf(err));
    return undefined;
  }
}
