import type { ContainerDetails } from "../docker/engine.js";
import { DockerError } from "../runtime/errors.js";
import {
  CONFIG_PATH,
  HELPER_PATH,
  RUN_CONFIG_PATH,
  RUN_DIR,
  RUN_ETC_DIR,
  RUN_HELPER_PATH,
  SHM_SECRET_DIR,
  STATIC_DIR,
  TMPFS_SECRET_DIR,
} from "./paths.js";

export interface SecretDir {
  /** Where the secret files go. */
  dir: string;
  /** The tmpfs mount point the push verifies inside the container before writing. */
  mount: string;
}

/** Where one container keeps its synced files. */
export interface ContainerLayout {
  /** Directory of the non-secret config and helper. */
  staticDir: string;
  configPath: string;
  helperPath: string;
  /** The config and helper are fixed when the container is created: the push leaves them be. */
  staticReadOnly?: boolean;
  secret: SecretDir;
}

/**
 * Containers with a tmpfs at /run/sso-docker (`sso-docker run` makes one): the secrets on it,
 * the config and helper on the read-only volume mounted at /run/sso-docker/etc.
 */
export const RUN_LAYOUT: ContainerLayout = {
  staticDir: RUN_ETC_DIR,
  configPath: RUN_CONFIG_PATH,
  helperPath: RUN_HELPER_PATH,
  staticReadOnly: true,
  secret: { dir: TMPFS_SECRET_DIR, mount: RUN_DIR },
};

/** Every other container: /etc/sso-docker and the container's own /dev/shm. */
export const SHM_LAYOUT: ContainerLayout = {
  staticDir: STATIC_DIR,
  configPath: CONFIG_PATH,
  helperPath: HELPER_PATH,
  secret: { dir: SHM_SECRET_DIR, mount: "/dev/shm" },
};

/**
 * IPC modes whose /dev/shm belongs to this container alone. "shareable" is allowed: only a
 * Docker API user can join it (`--ipc container:X`), and such a user can already exec into
 * it; "" is the daemon default, private or shareable. `host` and `container:X` share a
 * /dev/shm we do not own, and `none` has none.
 */
const OWN_SHM_IPC_MODES = new Set(["private", "shareable", ""]);

export function hasRunTmpfs(container: ContainerDetails): boolean {
  return container.tmpfsTargets.some((target) => target.replace(/\/+$/, "") === RUN_DIR);
}

/**
 * Containers with a tmpfs at /run/sso-docker but no volume of sso-docker run (`docker run
 * --tmpfs /run/sso-docker`, for a container without a private /dev/shm): the same paths, the
 * config and helper written by the push.
 */
export const TMPFS_LAYOUT: ContainerLayout = { ...RUN_LAYOUT, staticReadOnly: false };

/**
 * The run layout if the container has a tmpfs at /run/sso-docker (with or without the volume at
 * /run/sso-docker/etc), else its own /dev/shm, else an error.
 */
export function chooseLayout(container: ContainerDetails): ContainerLayout {
  if (hasRunTmpfs(container)) {
    const volume = container.readOnlyMounts.some((target) => target.replace(/\/+$/, "") === RUN_ETC_DIR);
    return volume ? RUN_LAYOUT : TMPFS_LAYOUT;
  }
  if (OWN_SHM_IPC_MODES.has(container.ipcMode)) return SHM_LAYOUT;
  throw new DockerError(
    `Container ${container.name} has no private /dev/shm (--ipc=${container.ipcMode}), so sso-docker will not put credentials in it.`,
    { hint: `Recreate it with \`--tmpfs ${RUN_DIR}\` (\`sso-docker run\` adds it).` },
  );
}

/** Can the container hold credentials in its /dev/shm? (Used by wipe, which must not touch a shared one.) */
export function hasOwnShm(container: ContainerDetails): boolean {
  return OWN_SHM_IPC_MODES.has(container.ipcMode);
}
