import type { BackgroundAgent } from "../agent/detach.js";
import { GRANT_LABEL, grantFor } from "../agent/grant.js";
import { loadGrantKey } from "../agent/grant-key.js";
import { selectProfileName } from "../aws-files/profiles.js";
import { tokenCachePath } from "../aws-files/token-cache.js";
import { isSessionUsable } from "../auth/session-check.js";
import type { SessionRef } from "../auth/session-ref.js";
import { describeSession } from "../auth/session-ref.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { outputSettings, resolveProfile } from "../credentials/resolve-profile.js";
import { RUN_CONFIG_PATH, RUN_DIR } from "../delivery/paths.js";
import type { ProfileSettings } from "../delivery/profile-files.js";
import { RUN_LAYOUT } from "../delivery/secret-dir.js";
import { renderStaticFiles } from "../delivery/static-files.js";
import type { DockerEngine } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import { DOCKER_CLI, type DockerCli } from "./docker-cli.js";
import { becomeDocker } from "./exec-docker.js";
import { imageToRun, inspectLocalImage } from "./image-to-run.js";
import type { RunArgs } from "./run-args.js";
import { readRunChecks, recordRunChecks, runChecksFile } from "./run-checks.js";
import { prepareRunVolume, volumeMount } from "./run-volume.js";

export const PROFILES_LABEL = "sso-docker.profiles";

/**
 * What sso-docker adds to `docker run`: a tmpfs for the secrets (the agent's push makes the
 * secret dir the user's, 0700), the read-only volume with the config and helper, the labels
 * (the profiles and this user's grant of them, so that only this user's agent supplies the
 * container) and the config path.
 */
export function deliveryOptions(profileNames: readonly string[], volume: string, grant: string): string[] {
  return [
    "--tmpfs",
    `${RUN_DIR}:rw,noexec,nosuid,nodev,size=1m,mode=755`,
    "--mount",
    volumeMount(volume),
    "--label",
    `${PROFILES_LABEL}=${profileNames.join(",")}`,
    "--label",
    `${GRANT_LABEL}=${grant}`,
    "--env",
    `AWS_CONFIG_FILE=${RUN_CONFIG_PATH}`,
  ];
}

/** What the container's config says of a profile: under the name asked for, with its own settings (a chain's, not its root's). */
export function settingsOf(r: ResolvedProfile): ProfileSettings {
  return { name: r.session.profileName, ...outputSettings(r) };
}

/** What `sso-docker run` needs from its surroundings besides Deps; the CLI builds it. */
export interface RunSurroundings {
  engine: DockerEngine;
  /** Signs in to a session that cannot serve without a person (the terminal's login). */
  signIn(session: SessionRef, oidcEndpoint: string | undefined): Promise<void>;
  /** Starts the agent for this engine in the background unless it runs. */
  ensureAgent(engineHost: string): Promise<BackgroundAgent>;
  /** A line for the person (stderr). */
  notice(text: string): void;
  /** The CLI to become (default `docker` on PATH); a promise, so it can be found meanwhile. */
  docker?: DockerCli | Promise<DockerCli>;
}

export interface PreparedRun {
  docker: string;
  /** `docker` arguments: its global options, `run`, what delivery needs, then the user's as given. */
  argv: string[];
  /** A sign-in prompt used the terminal. */
  signedIn: boolean;
}

/** Signs in, one session at a time, to each session of these profiles that needs it. */
async function ensureSignedIn(
  deps: Deps,
  resolved: readonly ResolvedProfile[],
  surroundings: RunSurroundings,
): Promise<boolean> {
  const sessions = new Map<string, ResolvedProfile>();
  for (const r of resolved) {
    const path = tokenCachePath(deps.paths.ssoCacheDir, r.session);
    if (!sessions.has(path)) sessions.set(path, r);
  }
  const unusable = (
    await Promise.all(
      [...sessions.values()].map(async (r) =>
        (await isSessionUsable(deps, r.session, r.endpoints.oidc)) ? undefined : r,
      ),
    )
  ).filter((r) => r !== undefined);
  for (const r of unusable) {
    surroundings.notice(
      `sso-docker: profile ${r.profile.profileName} needs a sign-in (${describeSession(r.session)}) before the container starts.`,
    );
    await surroundings.signIn(r.session, r.endpoints.oidc);
  }
  return unusable.length > 0;
}

/**
 * Checks, in the order a refusal costs least, everything that must hold before the container
 * exists: the profiles (and that they may go into containers), the sign-in (one login if
 * needed), the image (pulled as docker would), its /bin/sh and the config volume, then the
 * agent, which pushes at the container's start and refreshes. Returns the `docker run` to
 * become; a refusal throws, and no container exists.
 */
export async function prepareRun(
  deps: Deps,
  args: RunArgs,
  surroundings: RunSurroundings,
): Promise<PreparedRun> {
  const { engine } = surroundings;
  const names = args.profiles.length > 0 ? args.profiles : [selectProfileName({ env: deps.env })];
  const checksFile = runChecksFile(deps.env, deps.paths.home);
  // Asked at once, read-only: the answer is there when the checks before it have passed.
  const local = inspectLocalImage(engine, args);
  local.catch(() => undefined);
  const [resolved, grantKey, known] = await Promise.all([
    Promise.all(names.map((name) => resolveProfile(deps, name, { forContainer: true }))),
    loadGrantKey(deps.env, deps.paths.home),
    readRunChecks(checksFile),
  ]);
  deps.logger.debug(`profiles ${names.join(", ")} resolved`);
  const signedIn = await ensureSignedIn(deps, resolved, surroundings);
  deps.logger.debug(signedIn ? "signed in" : "sign-in valid");
  const cli = await (surroundings.docker ?? DOCKER_CLI);
  const image = await imageToRun(engine, args, cli, local);
  deps.logger.debug(`image ${args.image} on the engine`);
  const files = renderStaticFiles(resolved.map(settingsOf), RUN_LAYOUT);
  const checked = await prepareRunVolume(engine, { name: args.image, id: image.id }, files, known);
  if (checked.shell !== undefined) {
    await recordRunChecks(checksFile, { shell: checked.shell, volume: checked.filled }).catch(
      (error: unknown) => {
        deps.logger.debug(`could not record what the probe found: ${(error as Error).message}`);
      },
    );
  }
  deps.logger.debug(
    `image has /bin/sh; volume ${checked.volume} ready${checked.shell === undefined ? " (known)" : ""}`,
  );
  const agent = await surroundings.ensureAgent(engine.host);
  if (agent.started) {
    surroundings.notice(
      `sso-docker: started the agent for ${engine.host} (pid ${agent.pid}), which puts credentials in this engine's containers and keeps them fresh; \`sso-docker status\` shows it, \`sso-docker agent stop\` ends it.`,
    );
  }
  deps.logger.debug(`agent ${agent.started ? "started" : "running"} (pid ${agent.pid})`);
  const delivery = deliveryOptions(names, checked.volume, grantFor(grantKey, names));
  return {
    docker: cli.command,
    argv: [...cli.globalArgs, "run", ...delivery, ...args.options, args.image, ...args.command],
    signedIn,
  };
}

/**
 * `sso-docker run`: checks what must hold (prepareRun), then becomes `docker run` with every
 * option of the user's untouched. It never pushes: the agent does, at the container's start.
 * Returns docker's exit code where docker ran as a child.
 */
export async function runContainer(
  deps: Deps,
  args: RunArgs,
  surroundings: RunSurroundings,
): Promise<number> {
  const prepared = await prepareRun(deps, args, surroundings);
  deps.logger.debug(`docker run (${args.image})`);
  return becomeDocker(prepared.argv, { env: deps.env, execve: !prepared.signedIn, docker: prepared.docker });
}
