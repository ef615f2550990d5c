import { randomBytes } from "node:crypto";
import { linkAwsConfigScript } from "../delivery/aws-config-link.js";
import { SAFE_PREAMBLE } from "../delivery/container-shell.js";
import type { DeliveryProfile } from "../delivery/profile-files.js";
import { parseOutput, pushedIds, renderSecretFiles, scrub } from "../delivery/push-credentials.js";
import { buildPushScript, PushExit } from "../delivery/push-script.js";
import type { ContainerLayout } from "../delivery/secret-dir.js";
import { SHM_LAYOUT, TMPFS_LAYOUT } from "../delivery/secret-dir.js";
import { renderStaticFiles } from "../delivery/static-files.js";
import { wipeScript } from "../delivery/wipe-credentials.js";
import { RUN_DIR } from "../delivery/paths.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import { RemoteTargetError, RemoteTargetRefusal, targetId } from "./remote-target.js";
import type { HostKeyMode, SshRoute } from "./ssh-transport.js";
import { runOverSsh } from "./ssh-transport.js";
import type { Env } from "../runtime/env.js";

export interface RemoteContext {
  env: Env;
  knownHosts: string;
  mode: HostKeyMode;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** What the login user is in the target and where its secrets go: found at attach, kept with the target. */
export interface TargetProbe {
  uid: number;
  gid: number;
  /** `tmpfs`: a `--tmpfs /run/sso-docker` (devcontainer runArgs); `shm`: /dev/shm. */
  layout: "tmpfs" | "shm";
}

export function layoutOf(probe: TargetProbe): ContainerLayout {
  return probe.layout === "tmpfs" ? TMPFS_LAYOUT : SHM_LAYOUT;
}

// As the login user, no sudo: who it is, and whether the run dir is a tmpfs (the last mount wins).
const PROBE_SCRIPT = [
  SAFE_PREAMBLE,
  'echo "ids $(id -u) $(id -g)"',
  "t=",
  `while read -r _ m f _; do [ "$m" != ${RUN_DIR} ] || t=$f; done < /proc/mounts`,
  'echo "run-dir ${t:-none}"',
  "",
].join("\n");

export async function probeTarget(route: SshRoute, ctx: RemoteContext): Promise<TargetProbe> {
  const result = await runOverSsh(route, PROBE_SCRIPT, { ...ctx, sudo: false });
  const ids = /^ids (\d+) (\d+)$/m.exec(result.stdout);
  const runDir = /^run-dir (\S+)$/m.exec(result.stdout);
  if (result.exitCode !== 0 || ids === null || runDir === null) {
    throw new RemoteTargetError(
      `${targetId(route)} did not answer as a POSIX shell does: ${quoteForeign((result.stderr || result.stdout).trim() || `exit ${String(result.exitCode)}`)}.`,
      { hint: "sso-docker needs /bin/sh, id and /proc in the target." },
    );
  }
  return { uid: Number(ids[1]), gid: Number(ids[2]), layout: runDir[1] === "tmpfs" ? "tmpfs" : "shm" };
}

export interface RemotePushResult {
  secretDir: string;
  uid: number;
  gid: number;
  warnings: string[];
}

/**
 * The one push script (push-script.ts), fed to /bin/sh as root in the target through ssh, then,
 * when ~/.aws/config is to be linked, the link script as the login user: the same two steps as a
 * docker exec push, on another carrier.
 */
export async function pushToTarget(
  route: SshRoute,
  probe: TargetProbe,
  profiles: readonly DeliveryProfile[],
  ctx: RemoteContext,
): Promise<RemotePushResult> {
  const id = targetId(route);
  const layout = layoutOf(probe);
  const content = renderSecretFiles(profiles);
  const script = buildPushScript({
    userSpec: `${String(probe.uid)}:${String(probe.gid)}`,
    layout,
    secretFiles: content.secretFiles,
    staticFiles: renderStaticFiles(profiles, layout),
    linkAwsConfig: true,
    nonce: randomBytes(8).toString("hex"),
  });
  const result = await runOverSsh(route, script, { ...ctx, sudo: probe.uid !== 0 });
  if (result.exitCode !== 0) {
    throw pushError(
      id,
      result.exitCode ?? -1,
      scrub(result.stderr || result.stdout, content.secrets),
      layout,
    );
  }
  const parsed = parseOutput(result.stdout, id, layout);
  const { uid, gid } = pushedIds(parsed, id);
  if (parsed.linkHome !== undefined) {
    const linked = await runOverSsh(route, linkAwsConfigScript(parsed.linkHome, layout.configPath), {
      ...ctx,
      sudo: false,
    });
    parsed.warnings.push(...parseOutput(linked.stdout, id, layout).warnings);
  }
  return { secretDir: layout.secret.dir, uid, gid, warnings: parsed.warnings };
}

/** Removes the pushed credentials (logout, detach); the config and helper stay. */
export async function wipeTarget(route: SshRoute, probe: TargetProbe, ctx: RemoteContext): Promise<void> {
  const layout = layoutOf(probe);
  const result = await runOverSsh(route, wipeScript([layout.secret.dir]), { ...ctx, sudo: probe.uid !== 0 });
  if (result.exitCode !== 0) {
    throw new RemoteTargetError(
      `Could not remove the credentials from ${targetId(route)}: ${quoteForeign(result.stderr.trim() || `exit ${String(result.exitCode)}`)}.`,
      { hint: `Look with \`sudo ls -la ${layout.secret.dir}\` in it.` },
    );
  }
}

function pushError(id: string, code: number, detail: string, layout: ContainerLayout): RemoteTargetError {
  const why = quoteForeign(detail.replace(/^sso-docker: /, ""));
  switch (code) {
    case PushExit.notTmpfs:
      return new RemoteTargetRefusal(`${id} has no tmpfs for credentials (${why}); nothing was written.`, {
        hint: `Give its dev container a tmpfs: "runArgs": ["--tmpfs", "${RUN_DIR}"] in devcontainer.json (or a private /dev/shm), rebuild, then attach again.`,
      });
    case 1:
      // sudo -n refused: the login user may not become root without a password.
      return new RemoteTargetError(`Cannot become root in ${id} to write its tmpfs: ${why}.`, {
        hint: "The login user needs passwordless sudo (a codespace's has it), or attach as root (--ssh-user root).",
      });
    case 126:
    case 127:
      return new RemoteTargetError(`${id} has no /bin/sh or sudo to run the push with: ${why}.`, {
        hint: "Install sudo in its image, or attach as root (--ssh-user root).",
      });
    default:
      return new RemoteTargetError(
        `Pushing credentials into ${layout.secret.dir} of ${id} failed (exit ${String(code)}): ${why}.`,
        { hint: `Run \`sso-docker attach ${id} --profile …\` with --debug.` },
      );
  }
}
