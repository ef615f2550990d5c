import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { GRANT_LABEL, grantFor } from "../agent/grant.js";
import { loadGrantKey } from "../agent/grant-key.js";
import { selectProfileName } from "../aws-files/profiles.js";
import { getAccessToken } from "../auth/access-token.js";
import { CredentialSource } from "../credentials/credential-source.js";
import { refreshDueAt } from "../credentials/refresh-timing.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { resolveProfile } from "../credentials/resolve-profile.js";
import { RUN_CONFIG_PATH, RUN_DIR } from "../delivery/paths.js";
import type { DeliveryProfile, ProfileSettings } from "../delivery/profile-files.js";
import { ContainerStoppedError, pushCredentials } from "../delivery/push-credentials.js";
import { RUN_LAYOUT } from "../delivery/secret-dir.js";
import { renderStaticFiles } from "../delivery/static-files.js";
import type { DockerEngine } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import { DockerError, SsoDockerError } from "../runtime/errors.js";
import { exitOf, forwardSignals } from "./docker-process.js";
import { imageToRun } from "./image-to-run.js";
import type { RunArgs } from "./run-args.js";
import { writePlan } from "./run-plan.js";
import { prepareRunVolume, volumeMount } from "./run-volume.js";

export const PROFILES_LABEL = "sso-docker.profiles";
/** A random value per `sso-docker run`: how it finds its own container's start event. */
export const RUN_LABEL = "sso-docker.run";

export interface RunContainerOptions {
  engine: DockerEngine;
  /** The docker CLI to pass options through to. */
  docker?: string;
  /** Where `-d` prints the container id. */
  stdout?: NodeJS.WritableStream;
  /** Whether stdin is a terminal, which then sends Ctrl-C, Ctrl-\ and hang-ups to docker itself. */
  stdinIsTty?: boolean;
}

/**
 * What sso-docker adds to `docker run`: a tmpfs for the secrets (the push makes the secret dir
 * the user's, 0700), the read-only volume with the config and helper, the labels (the profiles
 * and this user's grant of them, so that only this user's agent supplies the container) and the
 * config path. The per-run label comes separately (`runLabel`).
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

export function runLabel(runId: string): string[] {
  return ["--label", `${RUN_LABEL}=${runId}`];
}

export interface Fetched {
  profiles: DeliveryProfile[];
  /** Epoch ms of the first refresh these credentials need. */
  refreshAt: number;
}

/** What the container's config says of a profile. */
export function settingsOf(r: ResolvedProfile): ProfileSettings {
  return {
    name: r.profile.profileName,
    ...(r.profile.region ? { region: r.profile.region } : {}),
    ...(r.profile.output ? { output: r.profile.output } : {}),
  };
}

export async function fetchProfiles(
  source: CredentialSource,
  resolved: readonly ResolvedProfile[],
): Promise<Fetched> {
  const all = await Promise.all(resolved.map(async (r) => ({ r, c: await source.get(r) })));
  return {
    profiles: all.map(({ r, c }) => ({
      ...settingsOf(r),
      credentials: {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken,
        expiration: new Date(c.expiration),
      },
    })),
    refreshAt: Math.min(...all.map(({ c }) => refreshDueAt(c))),
  };
}

/**
 * `docker run` itself, with the config volume mounted, and credentials pushed the moment the
 * container starts (its helper waits for them) and again before each expiry, while it runs. Everything that can refuse the run (profiles,
 * sign-in, image) is checked before the container exists; role credentials the caches lack are
 * fetched while docker starts it, and a failure there (a role taken away) stops it. Returns
 * `docker run`'s exit code.
 */
export async function runContainer(deps: Deps, args: RunArgs, options: RunContainerOptions): Promise<number> {
  const { engine } = options;
  const docker = options.docker ?? "docker";
  const names = args.profiles.length > 0 ? args.profiles : [selectProfileName({ env: deps.env })];
  const source = new CredentialSource(deps);
  const runId = randomBytes(8).toString("hex");
  // Ends the start-event subscription and the refreshes: when docker run exits (attached), after
  // the first push (detached), or when the run is refused before the container exists.
  const done = new AbortController();
  const start = subscribeToStart(engine, runId, done.signal);
  let prepared;
  try {
    prepared = await Promise.all([
      (async () => {
        const resolved = await Promise.all(
          names.map((name) => resolveProfile(deps, name, { forContainer: true })),
        );
        deps.logger.debug(`profiles ${names.join(", ")} resolved`);
        const cached = await Promise.all(resolved.map((r) => source.cached(r)));
        if (cached.includes(undefined)) {
          // GetRoleCredentials then runs while docker creates and starts the container (the
          // helper inside waits for the push), but only once the sign-in is known to hold:
          // a run refused for want of a login is refused before the container exists.
          for (const r of resolved) await getAccessToken(deps, r.session, r.endpoints.oidc);
          deps.logger.debug("sign-in valid; role credentials to fetch");
        }
        return resolved;
      })(),
      imageToRun(engine, args, docker).then(() => {
        deps.logger.debug(`image ${args.image} on the engine`);
      }),
      start.opened,
      loadGrantKey(deps.env, deps.paths.home),
    ]);
  } catch (error) {
    done.abort();
    throw error;
  }
  const [resolved, , , grantKey] = prepared;
  const fetched = fetchProfiles(source, resolved);
  // Awaited once the container has started; a run that ends before that never reads it.
  fetched.catch(() => undefined);
  const files = renderStaticFiles(resolved.map(settingsOf), RUN_LAYOUT);
  let volume: string;
  try {
    volume = await prepareRunVolume(engine, args.image, files);
  } catch (error) {
    done.abort();
    throw error;
  }
  deps.logger.debug(`image has /bin/sh; volume ${volume} ready`);
  const delivery = deliveryOptions(names, volume, grantFor(grantKey, names));
  deps.logger.debug(`docker run (${args.image}, run id ${runId})`);
  const child = spawn(
    docker,
    ["run", ...delivery, ...runLabel(runId), ...args.options, args.image, ...args.command],
    { stdio: ["inherit", args.detach ? "pipe" : "inherit", "inherit"] },
  );
  const stopForwarding = forwardSignals(child, options.stdinIsTty ?? process.stdin.isTTY);
  let printedId = "";
  child.stdout?.on("data", (chunk: Buffer) => (printedId += chunk.toString("utf8")));
  const exited = exitOf(child).then(
    (code) => {
      stopForwarding();
      // A detached container is ours until its first push; an attached one while docker runs.
      if (!args.detach || code !== 0) done.abort();
      return code;
    },
    (error: unknown) => {
      stopForwarding();
      done.abort();
      throw error;
    },
  );

  // Everything checked and the role credentials in hand: the shell front may run the next
  // such run without Node.
  const planned = fetched.then(
    (first) =>
      writePlan(deps, {
        given: args.profiles,
        names,
        until: first.refreshAt,
        image: args.image,
        options: delivery,
        volume,
      }),
    () => undefined,
  );
  const sync = keepSynced({
    deps,
    engine,
    started: start.id,
    initial: fetched,
    refresh: () => fetchProfiles(source, resolved),
    signal: done.signal,
    docker,
    once: args.detach,
  });
  const code = await exited;
  const outcome = await sync;
  if (outcome.error !== undefined) throw outcome.error;
  await planned;
  if (args.detach && code === 0) {
    (options.stdout ?? process.stdout).write(printedId);
    const expiry = outcome.pushed?.[0]?.credentials.expiration.toISOString() ?? "";
    process.stderr.write(
      `sso-docker: credentials in ${printedId.slice(0, 12)} expire at ${expiry}; \`sso-docker agent --detach\` keeps them fresh.\n`,
    );
  }
  return code;
}

export interface SyncOutcome {
  containerId?: string;
  /** What the first push delivered. */
  pushed?: DeliveryProfile[];
  /** A failure the user must see: the container was stopped because of it. */
  error?: Error;
}

/**
 * Waits for the container's start, pushes, then keeps pushing before each expiry until
 * `signal` aborts (or after the first push with `once`). A first push that fails (no shell,
 * unknown user, …) stops the container: it must not run on without credentials.
 */
export async function keepSynced(input: {
  deps: Deps;
  engine: DockerEngine;
  /** The container's id once it has started; undefined if the run ends first. */
  started: Promise<string | undefined>;
  /** The first credentials: in hand already, or a GetRoleCredentials call under way. */
  initial: Promise<Fetched>;
  refresh: () => Promise<Fetched>;
  signal: AbortSignal;
  docker: string;
  once: boolean;
}): Promise<SyncOutcome> {
  const { deps, engine, signal } = input;
  let id: string | undefined;
  try {
    id = await input.started;
    if (id === undefined) return {};
    deps.logger.debug(`container ${id.slice(0, 12)} started`);
    const push = (profiles: readonly DeliveryProfile[]) =>
      pushCredentials(engine, id ?? "", profiles, { signal });
    let initial: Fetched;
    try {
      initial = await input.initial;
    } catch (error) {
      if (signal.aborted) return { containerId: id };
      await stopContainer(input.docker, id);
      return { containerId: id, error: error as Error };
    }
    deps.logger.debug("role credentials in hand");
    try {
      await push(initial.profiles);
    } catch (error) {
      // The container may end while the push runs (a command that exits at once), and its state
      // may still read "running" for a moment after the push was killed with it (exit 137).
      const ended =
        signal.aborted ||
        !(error instanceof SsoDockerError) ||
        error instanceof ContainerStoppedError ||
        !(await isRunning(engine, id));
      if (ended) return { containerId: id };
      await stopContainer(input.docker, id);
      return { containerId: id, error };
    }
    deps.logger.debug(`pushed credentials into ${id.slice(0, 12)}`);
    if (input.once) return { containerId: id, pushed: initial.profiles };
    // A function, not the property: the compiler cannot see the awaits in between change it.
    const stopped = () => signal.aborted;
    let next = initial.refreshAt;
    while (!stopped()) {
      await sleepUntil(next, deps.clock.now(), signal);
      if (stopped()) break;
      try {
        const fresh = await input.refresh();
        await push(fresh.profiles);
        next = fresh.refreshAt;
      } catch (error) {
        // A container that has just exited (docker run not yet) needs no refresh.
        if (stopped() || !(await isRunning(engine, id))) break;
        deps.logger.warn(`could not refresh credentials in ${id.slice(0, 12)}: ${(error as Error).message}`);
        next = deps.clock.now() + 30_000;
      }
    }
    return { containerId: id };
  } catch (error) {
    // The engine went away mid-run: docker run reports that itself.
    if (signal.aborted) return id === undefined ? {} : { containerId: id };
    throw error;
  }
}

/**
 * Subscribes to this run's start event before the container exists, so the event cannot be
 * missed (no reliance on `since`, whose clock is the engine's). `opened` resolves once the engine
 * has the subscription; `id` with the container's id, or undefined when `signal` aborts first.
 */
export function subscribeToStart(
  engine: DockerEngine,
  runId: string,
  signal: AbortSignal,
): { opened: Promise<void>; id: Promise<string | undefined> } {
  let opened: () => void = () => undefined;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const events = engine.events({
    filters: startFilter(runId),
    signal,
    onOpen: () => {
      opened();
    },
  });
  const id = (async () => {
    for await (const event of events) if (event.action === "start") return event.id;
    if (signal.aborted) return undefined;
    throw new DockerError(
      `The Docker engine at ${engine.host} stopped reporting events before the container started.`,
      { hint: "Run `docker ps` to find the container, then `sso-docker agent` to supply it." },
    );
  })();
  // Whoever needs it awaits `id`; a run refused before its container exists never does.
  id.catch(() => undefined);
  return { opened: Promise.race([open, id.then(() => undefined)]), id };
}

function startFilter(runId: string) {
  return { type: ["container"], event: ["start"], label: [`${RUN_LABEL}=${runId}`] };
}

async function isRunning(engine: DockerEngine, id: string): Promise<boolean> {
  try {
    return (await engine.inspectContainer(id)).running;
  } catch {
    return false;
  }
}

async function stopContainer(docker: string, id: string): Promise<void> {
  await exitOf(spawn(docker, ["kill", id], { stdio: "ignore" })).catch(() => undefined);
}

function sleepUntil(at: number, now: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, Math.max(1000, at - now));
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      resolve();
    }
    signal.addEventListener("abort", finish, { once: true });
  });
}
