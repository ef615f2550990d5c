import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { isatty } from "node:tty";
import type { Env } from "../runtime/env.js";
import { DockerError } from "../runtime/errors.js";
import { exitOf, forwardSignals } from "./docker-process.js";

type Execve = (file: string, args: readonly string[], env: Env) => never;

/** `process.execve` where this Node has it (≥ 22.15 / 23.11, not on Windows). */
export function nodeExecve(): Execve | undefined {
  const execve = (process as { execve?: unknown }).execve;
  return typeof execve === "function" ? (execve.bind(process) as Execve) : undefined;
}

/**
 * The executable `command` names on PATH, as execvp would find it (empty entries, which mean
 * the working directory, are skipped). process.execve does not search PATH, and a path it cannot
 * run ends Node at once, so the file is checked first.
 */
export function findOnPath(command: string, env: Env): string | undefined {
  const dirs = command.includes("/") ? [""] : (env["PATH"] ?? "/bin:/usr/bin").split(delimiter);
  for (const dir of dirs) {
    if (dir === "" && !command.includes("/")) continue;
    const file = dir === "" ? command : join(dir, command);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there, or not executable: the next entry
    }
  }
  return undefined;
}

function dockerMissing(docker: string, cause?: unknown): DockerError {
  return new DockerError(`Could not run ${docker}: it is not an executable on PATH.`, {
    cause,
    hint: "Is the docker CLI installed and on PATH? (`command -v docker`)",
  });
}

export interface BecomeDockerOptions {
  env: Env;
  /** The docker CLI (default `docker` on PATH). */
  docker?: string;
  /**
   * False when this process has used its stdio streams (a sign-in prompt): Node leaves them
   * non-blocking, which the caller's shell would then inherit from docker, so docker is a child.
   */
  execve?: boolean;
  /** Test seam: what replaces the process. */
  replace?: Execve | undefined;
}

/**
 * `docker <args>` as this very process where Node can replace itself: sso-docker then is
 * `docker run`, with its pid, terminal, signals and exit code, and nothing of sso-docker stays
 * behind. Elsewhere docker is a child: signals sent to sso-docker are passed on, and its exit
 * code is returned.
 */
export async function becomeDocker(args: readonly string[], options: BecomeDockerOptions): Promise<number> {
  const docker = options.docker ?? "docker";
  const replace = options.execve === false ? undefined : (options.replace ?? nodeExecve());
  if (replace !== undefined) {
    const file = findOnPath(docker, options.env);
    if (file === undefined) throw dockerMissing(docker);
    replace(file, [docker, ...args], options.env);
  }
  const child = spawn(docker, args, { stdio: "inherit", env: options.env });
  const stopForwarding = forwardSignals(child, isatty(0));
  try {
    return await exitOf(child);
  } finally {
    stopForwarding();
  }
}
