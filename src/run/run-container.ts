import { execa } from "execa";
import { selectProfileName } from "../aws-files/profiles.js";
import { CredentialSource } from "../credentials/credential-source.js";
import { refreshAt, refreshLeadMs } from "../credentials/refresh-policy.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { resolveProfile } from "../credentials/resolve-profile.js";
import { CONFIG_PATH, TMPFS_SECRET_DIR } from "../delivery/paths.js";
import type { DeliveryProfile } from "../delivery/profile-files.js";
import { pushCredentials } from "../delivery/push-credentials.js";
import { seedStaticFiles } from "../delivery/seed-container.js";
import type { DockerEngine } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import { DockerError, SsoDockerError } from "../runtime/errors.js";
import type { RunArgs } from "./run-args.js";

export const PROFILES_LABEL = "sso-docker.profiles";

export interface RunContainerOptions {
  /** The engine client, or a loader run while `docker create` works (dockerode takes ~0.2 s to load). */
  engine: DockerEngine | (() => Promise<DockerEngine>);
  /** The docker CLI to pass options through to. */
  docker?: string;
  /** Where `-d` prints the container id. */
  stdout?: NodeJS.WritableStream;
}

/**
 * What sso-docker adds to `docker create`: a tmpfs for the secrets, the participation label, the
 * config path. The empty tmpfs starts 0711 (root's, searchable) so a non-root user's helper can
 * wait for its file instead of taking the dir for another user's; the push makes it theirs, 0700.
 */
export function deliveryOptions(profileNames: readonly string[]): string[] {
  return [
    "--tmpfs",
    `${TMPFS_SECRET_DIR}:rw,noexec,nosuid,nodev,size=1m,mode=0711`,
    "--label",
    `${PROFILES_LABEL}=${profileNames.join(",")}`,
    "--env",
    `AWS_CONFIG_FILE=${CONFIG_PATH}`,
  ];
}

async function deliveryProfiles(
  source: CredentialSource,
  resolved: readonly ResolvedProfile[],
): Promise<DeliveryProfile[]> {
  return Promise.all(
    resolved.map(async (r) => {
      const c = await source.get(r);
      return {
        name: r.profile.profileName,
        ...(r.profile.region ? { region: r.profile.region } : {}),
        ...(r.profile.output ? { output: r.profile.output } : {}),
        credentials: {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          sessionToken: c.sessionToken,
          expiration: new Date(c.expiration),
        },
      };
    }),
  );
}

/**
 * `docker run` as create → seed the non-secret files → start, pushing credentials the moment
 * the container starts (its helper waits for them) and again before each expiry, for as long
 * as the container runs. Returns the exit code `docker run` would have.
 */
export async function runContainer(deps: Deps, args: RunArgs, options: RunContainerOptions): Promise<number> {
  const docker = options.docker ?? "docker";
  const names = args.profiles.length > 0 ? args.profiles : [selectProfileName({ env: deps.env })];
  const resolved = await Promise.all(names.map((name) => resolveProfile(deps, name)));
  const source = new CredentialSource(deps, { minValidityMs: refreshLeadMs });

  // Credentials, container creation and loading the engine client in parallel.
  const loadEngine =
    typeof options.engine === "function" ? options.engine() : Promise.resolve(options.engine);
  const [profilesResult, created, engineResult] = await Promise.allSettled([
    deliveryProfiles(source, resolved),
    execa(docker, ["create", ...deliveryOptions(names), ...args.createOptions, ...args.imageAndCommand], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "inherit",
      reject: false,
    }),
    loadEngine,
  ]);
  if (created.status === "rejected")
    throw new DockerError(`Could not run docker: ${String(created.reason)}`, {
      hint: "is the docker CLI installed?",
    });
  if (created.value.exitCode !== 0) return created.value.exitCode ?? 125;
  const id = created.value.stdout.trim();
  if (profilesResult.status === "rejected") {
    await execa(docker, ["rm", "-f", id], { reject: false });
    throw profilesResult.reason as Error;
  }
  if (engineResult.status === "rejected") {
    await execa(docker, ["rm", "-f", id], { reject: false });
    throw engineResult.reason as Error;
  }
  const engine = engineResult.value;
  let profiles = profilesResult.value;
  await seedStaticFiles(engine, id, profiles);

  const push = async () => {
    try {
      await pushCredentials(engine, id, profiles);
    } catch (err) {
      // A container that already finished needs nothing; anything else is the user's problem to see.
      if (err instanceof SsoDockerError && !(await isRunning(engine, id))) return;
      throw err;
    }
  };

  const events = new AbortController();
  const started = waitForStart(engine, id, events.signal);
  // When the container exits before its start event is seen, nobody awaits this any more.
  started.catch(() => undefined);
  const startArgs = [
    "start",
    ...(args.detach ? [] : ["--attach"]),
    ...(args.interactive && !args.detach ? ["--interactive"] : []),
  ];
  if (args.detachKeys) startArgs.push("--detach-keys", args.detachKeys);
  const child = execa(docker, [...startArgs, id], {
    stdin: args.interactive && !args.detach ? "inherit" : "ignore",
    stdout: args.detach ? "ignore" : "inherit",
    stderr: "inherit",
    reject: false,
  });
  const forward = (signal: NodeJS.Signals) => () => {
    if (args.sigProxy) child.kill(signal);
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await Promise.race([
      started.then(() => "started" as const),
      child.then(() => "exited" as const),
    ]);
    // A container whose first push fails (no shell, unknown user, …) must not run on without
    // credentials: stop it (`--rm` then removes it) and report why.
    const firstPush = async () => {
      try {
        await push();
      } catch (err) {
        await execa(docker, ["kill", id], { reject: false });
        await child;
        throw err;
      }
    };
    if (first === "started") await firstPush();
    if (args.detach) {
      const result = await child;
      if (result.exitCode !== 0) return result.exitCode ?? 125;
      if (first !== "started") {
        await started;
        await firstPush();
      }
      (options.stdout ?? process.stdout).write(`${id}\n`);
      const expiry = profiles[0]?.credentials.expiration.toISOString() ?? "";
      process.stderr.write(
        `sso-docker: credentials in ${id.slice(0, 12)} expire at ${expiry}; \`sso-docker agent --detach\` keeps them fresh.\n`,
      );
      return 0;
    }
    // Keep the credentials fresh while the container runs.
    const schedule = () => {
      const soonest = Math.min(
        ...profiles.map((p) =>
          refreshAt({
            ...p.credentials,
            expiration: p.credentials.expiration.getTime(),
            issuedAt: deps.clock.now(),
          }),
        ),
      );
      timer = setTimeout(
        () => {
          void deliveryProfiles(source, resolved)
            .then(async (fresh) => {
              profiles = fresh;
              await push();
            })
            .catch((err: unknown) => {
              deps.logger.warn(
                `could not refresh credentials in ${id.slice(0, 12)}: ${(err as Error).message}`,
              );
            })
            .finally(schedule);
        },
        Math.max(1000, soonest - deps.clock.now()),
      );
      timer.unref();
    };
    schedule();
    const result = await child;
    return result.exitCode ?? 125;
  } finally {
    if (timer) clearTimeout(timer);
    events.abort();
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}

async function isRunning(engine: DockerEngine, id: string): Promise<boolean> {
  try {
    return (await engine.inspectContainer(id)).running;
  } catch {
    return false;
  }
}

async function waitForStart(engine: DockerEngine, id: string, signal: AbortSignal): Promise<void> {
  for await (const event of engine.events({
    since: Date.now() - 1000,
    filters: { type: ["container"], container: [id], event: ["start"] },
    signal,
  })) {
    if (event.action === "start") return;
  }
  throw new DockerError(
    `The Docker engine stopped reporting events before container ${id.slice(0, 12)} started.`,
  );
}
