import type { ContainerDetails, DockerEngine } from "../docker/engine.js";
import { DockerError } from "../runtime/errors.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import { rootScript, SAFE_PREAMBLE, shQuote } from "./container-shell.js";
import { SHM_SECRET_DIR, TMPFS_SECRET_DIR } from "./paths.js";
import { SAFE_FS_FUNCTIONS } from "./safe-fs-script.js";
import { hasOwnShm } from "./secret-dir.js";

export interface WipeResult {
  containerId: string;
  containerName: string;
  /** False when the container was not running (its tmpfs contents went with its last stop). */
  wiped: boolean;
}

/**
 * Removes every synced secret from the container (for `sso-docker logout`), in one exec.
 * The config and helper stay, so the helper then says "no credentials" instead of failing oddly.
 */
export async function wipeCredentials(
  engine: DockerEngine,
  container: string | ContainerDetails,
  options: { signal?: AbortSignal } = {},
): Promise<WipeResult> {
  const details = typeof container === "string" ? await engine.inspectContainer(container) : container;
  const base = { containerId: details.id, containerName: details.name };
  if (details.paused) {
    // A paused container still holds its tmpfs: refuse rather than report a false wipe.
    throw new DockerError(`Container ${details.name} is paused, so its credentials cannot be removed now.`, {
      hint: `Run \`docker unpause ${details.name}\`, then \`sso-docker logout\` again.`,
    });
  }
  if (!details.running) return { ...base, wiped: false };
  // A /dev/shm shared with the host or another container was never ours to write or clean.
  const dirs = hasOwnShm(details) ? [TMPFS_SECRET_DIR, SHM_SECRET_DIR] : [TMPFS_SECRET_DIR];
  const result = await engine.exec(details.id, rootScript(details, wipeScript(dirs), options.signal));
  if (result.exitCode === 126 || result.exitCode === 127) {
    // No shell means no push ever succeeded: there is nothing to remove.
    return { ...base, wiped: true };
  }
  if (result.exitCode !== 0) {
    const detail = quoteForeign(result.stderr.trim().split("\n").slice(0, 3).join("; "));
    throw new DockerError(`Could not remove the credentials from container ${details.name}: ${detail}.`, {
      hint: `Look with \`docker exec -u 0 ${details.name} ls -la ${dirs.join(" ")}\`.`,
    });
  }
  return { ...base, wiped: true };
}

/** Removes the secret dirs, never following a link or emptying a mount (also run over ssh). */
export function wipeScript(dirs: readonly string[]): string {
  return [
    SAFE_PREAMBLE,
    SAFE_FS_FUNCTIONS,
    `for d in ${dirs.map(shQuote).join(" ")}; do`,
    // Emptying a mount would empty what is mounted, maybe a host directory.
    '  if has_mount "$d"; then echo "sso-docker: a filesystem is mounted at or under $d" >&2; exit 1; fi',
    // A link planted in place of the dir, or in it, is removed itself, never followed.
    '  remove "$d" 2>/dev/null',
    '  if [ -e "$d" ] || [ -L "$d" ]; then echo "sso-docker: $d is still there" >&2; exit 1; fi',
    "done",
    "exit 0",
    "",
  ].join("\n");
}
