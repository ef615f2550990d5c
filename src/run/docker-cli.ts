import { basename } from "node:path";
import type { DockerEngine } from "../docker/engine.js";
import { isPodman } from "../docker/engine-version.js";
import type { Env } from "../runtime/env.js";
import { findOnPath } from "./exec-docker.js";

/** The command `sso-docker run` becomes, and what goes before its `run`. */
export interface DockerCli {
  /** A name on PATH or a path. */
  command: string;
  /** Global options, before the subcommand. */
  globalArgs: readonly string[];
}

export const DOCKER_CLI = { command: "docker", globalArgs: [] } as const satisfies DockerCli;

/** Names the CLI to run instead of `docker` or `podman` (a path, or a name on PATH). */
export const DOCKER_CLI_ENV = "SSO_DOCKER_CLI";

/**
 * The CLI for the engine sso-docker checked: `$SSO_DOCKER_CLI` when set; else `podman` when the
 * engine is Podman and a podman is on PATH (the docker CLI's attach and Podman's compat API do
 * not get on, and that API ignores the options that make a missing config volume fail); else
 * `docker`. An engine that does not answer leaves `docker`: the checks that follow say why.
 */
export async function chooseDockerCli(
  engine: Pick<DockerEngine, "host" | "version">,
  env: Env,
): Promise<DockerCli> {
  const named = env[DOCKER_CLI_ENV]?.trim();
  if (named !== undefined && named !== "") return cliFor(named, engine.host);
  const podman = await engine.version().then(isPodman, () => false);
  return podman && findOnPath("podman", env) !== undefined ? cliFor("podman", engine.host) : DOCKER_CLI;
}

/**
 * A podman CLI is pointed at the engine's address (`--url`), so the container is made by the
 * service sso-docker checked and the agent follows, with that service's configuration, and not
 * by a local podman of its own.
 */
function cliFor(command: string, host: string): DockerCli {
  const remote = basename(command) === "podman" && /^(unix|tcp):\/\//.test(host);
  return { command, globalArgs: remote ? ["--remote", "--url", host] : [] };
}
