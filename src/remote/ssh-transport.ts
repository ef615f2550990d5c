import { join } from "node:path";
import { agentStateDir } from "../agent/agent-files.js";
import type { Env } from "../runtime/env.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import type { BoundedResult } from "./bounded-process.js";
import { runBounded } from "./bounded-process.js";
import type { RemoteTarget } from "./remote-target.js";
import { proxyCommand, RemoteTargetError, RemoteTargetRefusal, targetId } from "./remote-target.js";

/** How sso-docker reaches one target: the target and what ssh needs beyond the user's config. */
export interface SshRoute extends RemoteTarget {
  /** Login user (a codespace's is the container's: `codespace`, `vscode`, …); default: ssh's. */
  user?: string;
  /** A key file for this target (gh's is ~/.ssh/codespaces.auto); default: ssh's. */
  identityFile?: string;
}

/**
 * A push prints a line or two; a connect through a platform CLI takes a few seconds, and one that
 * hangs must not hold the agent: every ssh is killed after this.
 */
export const SSH_TIMEOUT_MS = 30_000;
const SSH_OUTPUT_BYTES = 64 * 1024;

/** sso-docker's own known_hosts: a target's host key is pinned there at attach, never in ~/.ssh. */
export function knownHostsFile(env: Env, home: string): string {
  return join(agentStateDir(env, home), "known_hosts");
}

/** The name a target's key is filed under: the host ssh sees is the platform's, not the target's. */
export function hostKeyAlias(target: RemoteTarget): string {
  return `sso-docker.${targetId(target).replace(":", ".")}`;
}

/**
 * `pin` (attach): a target not yet known has its key recorded; `verify` (every push after): only
 * the pinned key is accepted. Both refuse a key that differs from the pinned one.
 */
export type HostKeyMode = "pin" | "verify";

export function sshArguments(
  route: SshRoute,
  options: { knownHosts: string; mode: HostKeyMode; remoteCommand: string },
): string[] {
  const proxy = proxyCommand(route);
  const o = (setting: string) => ["-o", setting];
  return [
    "-T",
    ...o("BatchMode=yes"),
    ...o(`StrictHostKeyChecking=${options.mode === "pin" ? "accept-new" : "yes"}`),
    ...o(`UserKnownHostsFile=${options.knownHosts}`),
    ...o("GlobalKnownHostsFile=/dev/null"),
    ...o(`HostKeyAlias=${hostKeyAlias(route)}`),
    ...o("UpdateHostKeys=no"),
    // Nothing opened on either side, and no shared master connection that outlives the push.
    ...o("ClearAllForwardings=yes"),
    ...o("ForwardAgent=no"),
    ...o("ForwardX11=no"),
    ...o("PermitLocalCommand=no"),
    // An alias written for logging in (`RemoteCommand tmux …`) would make ssh refuse the push's
    // command ("Cannot execute command-line and remote command").
    ...o("RemoteCommand=none"),
    ...o("ControlMaster=no"),
    ...o("ControlPath=none"),
    ...o("ConnectTimeout=20"),
    ...o("LogLevel=ERROR"),
    ...(proxy === undefined ? [] : o(`ProxyCommand=${proxy}`)),
    ...(route.identityFile === undefined ? [] : ["-i", route.identityFile]),
    ...(route.user === undefined ? [] : ["-l", route.user]),
    // With a ProxyCommand the host only names the connection; ssh:HOST is the user's alias.
    route.platform === "ssh" ? route.name : hostKeyAlias(route),
    "--",
    options.remoteCommand,
  ];
}

/** The login shell runs this; `sudo -n` never prompts (a codespace's user has it without a password). */
export function shellCommand(asRoot: boolean): string {
  return asRoot ? "exec /usr/bin/sudo -n /bin/sh -s" : "exec /bin/sh -s";
}

export interface SshRunOptions {
  env: Env;
  knownHosts: string;
  mode: HostKeyMode;
  /** Through sudo, for a login user other than root. */
  sudo: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Runs `script` with /bin/sh in the target, fed on stdin; throws when ssh could not connect. */
export async function runOverSsh(
  route: SshRoute,
  script: string,
  options: SshRunOptions,
): Promise<BoundedResult> {
  const args = sshArguments(route, {
    knownHosts: options.knownHosts,
    mode: options.mode,
    remoteCommand: shellCommand(options.sudo),
  });
  const result = await runBounded("ssh", args, {
    env: options.env,
    stdin: script,
    timeoutMs: options.timeoutMs ?? SSH_TIMEOUT_MS,
    maxOutputBytes: SSH_OUTPUT_BYTES,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  checkConnected(route, result, options.timeoutMs ?? SSH_TIMEOUT_MS);
  return result;
}

/** ssh's own failures (exit 255, killed, not found) as errors; the script's exit codes are the caller's. */
function checkConnected(route: SshRoute, result: BoundedResult, timeoutMs: number): void {
  const id = targetId(route);
  if (result.spawnError !== undefined) {
    throw new RemoteTargetError(`Cannot connect to ${id}: there is no \`ssh\` command on PATH.`, {
      hint: "Install the OpenSSH client (Debian/Ubuntu: `apt-get install openssh-client`).",
    });
  }
  if (result.killed === "timeout") {
    throw new RemoteTargetError(
      `Connecting to ${id} did not finish within ${String(timeoutMs / 1000)} s; the connection was killed.`,
      { hint: `Check that \`${tryByHand(route)}\` answers in a terminal.` },
    );
  }
  if (result.killed === "output") {
    throw new RemoteTargetError(`${id} printed more than sso-docker reads; the connection was killed.`, {
      hint: `Look at what \`${tryByHand(route)}\` prints.`,
    });
  }
  if (result.killed === "aborted") throw new RemoteTargetError(`The connection to ${id} was cancelled.`);
  if (result.exitCode !== 255) return;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/.test(result.stderr)) {
    throw new RemoteTargetRefusal(
      `The host key of ${id} is not the one pinned when it was attached (rebuilt, or someone in between); nothing was sent.`,
      {
        hint: `If ${id} was rebuilt, re-attach it: \`sso-docker detach ${id}\`, then \`sso-docker attach ${id} --profile …\`.`,
      },
    );
  }
  throw new RemoteTargetError(`Cannot connect to ${id}: ssh said ${lastWords(result.stderr)}.`, {
    hint: `Check that \`${tryByHand(route)}\` works in a terminal.`,
  });
}

/** The connection a user can try by hand. */
export function tryByHand(route: SshRoute): string {
  const proxy = proxyCommand(route);
  const user = route.user === undefined ? "" : `-l ${route.user} `;
  return proxy === undefined
    ? `ssh ${user}${route.name} true`
    : `ssh -o ProxyCommand='${proxy}' ${user}${hostKeyAlias(route)} true`;
}

function lastWords(stderr: string, max = 300): string {
  const text = stderr.trim();
  if (text === "") return "nothing";
  return quoteForeign(text.length > max ? `…${text.slice(-max)}` : text, max + 1);
}
