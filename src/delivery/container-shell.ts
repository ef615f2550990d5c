import type { ContainerDetails, ExecRequest } from "../docker/engine.js";

/**
 * Runs as root in a container whose user may own directories on its PATH or its working dir:
 * only system directories are searched, word splitting is the default, and nothing is relative.
 */
export const SAFE_PREAMBLE = "PATH=/usr/sbin:/usr/bin:/sbin:/bin; IFS=' \t\n'; cd /";

/** POSIX single quoting: the only character to escape is `'` itself. */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Every script sso-docker runs in a container is read by this shell from stdin. */
export const SHELL_COMMAND = ["/bin/sh", "-s"] as const;

/**
 * What every process sso-docker starts in a container finds in its environment. Docker gives an
 * exec the container's own environment unless the request overrides it, and that environment is
 * the image's or its creator's choice: it can hand a root shell a PATH whose first directory the
 * container's user writes, a startup file (ENV, BASH_ENV), shell options and trace prompts
 * (SHELLOPTS, PS4), a library to preload (LD_PRELOAD, LD_LIBRARY_PATH), or, where /bin/sh is bash,
 * a function in place of a command (`BASH_FUNC_mv%%=() { …; }`). Each of these is set here; an
 * empty value is one the shell and the dynamic loader ignore.
 */
export const FIXED_ENV: readonly string[] = [
  "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
  "HOME=/",
  "LC_ALL=C",
  "ENV=",
  "BASH_ENV=",
  "CDPATH=",
  "SHELLOPTS=",
  "BASHOPTS=",
  "PS4=",
  "LD_PRELOAD=",
  "LD_LIBRARY_PATH=",
  "LD_AUDIT=",
  "GCONV_PATH=",
  "LOCPATH=",
  "GLIBC_TUNABLES=",
];

/**
 * The exec's `Env`: every name the container's config sets, emptied (a name we did not think of,
 * such as `BASH_FUNC_chown%%`, can carry no value into our shell), then FIXED_ENV.
 */
export function fixedEnv(containerEnv: Readonly<Record<string, string>>): string[] {
  const env = new Map<string, string>(Object.keys(containerEnv).map((name) => [name, ""]));
  for (const entry of FIXED_ENV) {
    const at = entry.indexOf("=");
    env.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return [...env].map(([name, value]) => `${name}=${value}`);
}

/** A script run by the container's /bin/sh as root, with the fixed environment. */
export function rootScript(container: ContainerDetails, script: string, signal?: AbortSignal): ExecRequest {
  return userScript(container, "0:0", script, signal);
}

/** A script run as `user` (`uid:gid`), with the fixed environment. */
export function userScript(
  container: ContainerDetails,
  user: string,
  script: string,
  signal?: AbortSignal,
): ExecRequest {
  return {
    cmd: SHELL_COMMAND,
    user,
    env: fixedEnv(container.env),
    stdin: script,
    ...(signal === undefined ? {} : { signal }),
  };
}
