import type { ContainerDetails } from "../docker/engine.js";
import { DockerError } from "../runtime/errors.js";
import { SHM_SECRET_DIR, TMPFS_SECRET_DIR } from "./paths.js";

export interface SecretDir {
  /** Where the secret files go. */
  dir: string;
  /** The tmpfs mount point the push verifies inside the container before writing. */
  mount: string;
}

/**
 * IPC modes whose /dev/shm belongs to this container alone. "shareable" is allowed: only a
 * Docker API user can join it (`--ipc container:X`), and such a user can already exec into
 * it; "" is the daemon default, private or shareable. `host` and `container:X` share a
 * /dev/shm we do not own, and `none` has none.
 */
const OWN_SHM_IPC_MODES = new Set(["private", "shareable", ""]);

/** `/run/sso-docker` if the container has a tmpfs there, else its own /dev/shm, else an error. */
export function chooseSecretDir(container: ContainerDetails): SecretDir {
  const hasTmpfs = container.tmpfsTargets.some((target) => target.replace(/\/+$/, "") === TMPFS_SECRET_DIR);
  if (hasTmpfs) return { dir: TMPFS_SECRET_DIR, mount: TMPFS_SECRET_DIR };
  if (OWN_SHM_IPC_MODES.has(container.ipcMode)) return { dir: SHM_SECRET_DIR, mount: "/dev/shm" };
  throw new DockerError(
    `Container ${container.name} has no private /dev/shm (--ipc=${container.ipcMode}), so sso-docker will not put credentials in it.`,
    { hint: `Recreate it with \`--tmpfs ${TMPFS_SECRET_DIR}\` (\`sso-docker run\` adds it).` },
  );
}

/** Can the container hold credentials in its /dev/shm? (Used by wipe, which must not touch a shared one.) */
export function hasOwnShm(container: ContainerDetails): boolean {
  return OWN_SHM_IPC_MODES.has(container.ipcMode);
}
