import { readFile, unlink } from "node:fs/promises";
import { CredentialSource } from "../credentials/credential-source.js";
import { resolveProfile } from "../credentials/resolve-profile.js";
import { createDockerEngine } from "../docker/engine.js";
import { readPlanHeader } from "../run/run-plan.js";
import type { DockerEngine } from "../docker/engine.js";
import { fetchProfiles, keepSynced, RUN_LABEL } from "../run/run-container.js";
import { MISSING_VOLUME_TYPE } from "../run/run-volume.js";
import { createDeps } from "../runtime/deps.js";
import { reportError } from "./report-error.js";

/**
 * The host side of a `sso-docker run` that the shell front (sso-docker.sh) started without Node
 * in front: it execs `docker run` and starts this beside it, `run-pusher.js PLAN TOKEN PID`. This
 * waits for the container labelled with TOKEN to start, pushes the credentials the plan's
 * profiles have cached, and refreshes them until docker run, its parent, exits. Bundled into
 * one file, as run-entry.js is.
 */

/** How often the parent is looked at: it has no event to await. One getppid() call. */
const PARENT_POLL_MS = 200;

async function main(argv: readonly string[]): Promise<number> {
  const [planPath, token, parentPid] = argv;
  if (planPath === undefined || token === undefined || parentPid === undefined) return 2;
  // Ctrl-C and a closed terminal are docker's to handle, for the container; this ends with it.
  for (const signal of ["SIGINT", "SIGQUIT", "SIGHUP"] as const) process.on(signal, () => undefined);
  // The front's pid, which docker run took over by exec: once this process's parent is another,
  // docker run has exited (perhaps before this one got going, on a busy machine).
  const parent = Number(parentPid);
  const done = new AbortController();
  const watch = setInterval(() => {
    if (process.ppid !== parent) done.abort();
  }, PARENT_POLL_MS);
  if (process.ppid !== parent) done.abort();
  const deps = createDeps({});
  try {
    const header = readPlanHeader(await readFile(planPath, "utf8"));
    if (header === undefined) return 2;
    const engine = createDockerEngine({ env: deps.env, home: deps.paths.home });
    const start = followRun(engine, token, done);
    await start.opened;
    // The container may have started before the subscription: the label finds it then.
    const listed = engine.listContainers({ labels: [`${RUN_LABEL}=${token}`] }).then((found) => {
      const id = found[0]?.id;
      return id === undefined ? new Promise<never>(() => undefined) : id;
    });
    const source = new CredentialSource(deps);
    const resolved = await Promise.all(
      header.names.map((name) => resolveProfile(deps, name, { forContainer: true })),
    );
    const initial = fetchProfiles(source, resolved);
    initial.catch(() => undefined);
    const outcome = await keepSynced({
      deps,
      engine,
      started: Promise.race([start.id, listed]),
      initial,
      refresh: () => fetchProfiles(source, resolved),
      signal: done.signal,
      docker: "docker",
      once: false,
    });
    if (outcome.error !== undefined) {
      await unlink(planPath).catch(() => undefined);
      throw outcome.error;
    }
    if (outcome.containerId === undefined) {
      const volume = await engine.inspectVolume(header.volume).catch(() => undefined);
      if (volume?.options["type"] === MISSING_VOLUME_TYPE) {
        await unlink(planPath).catch(() => undefined);
        process.stderr.write(
          `sso-docker: volume ${header.volume}, which holds the container's AWS config, was removed from the Docker engine (docker volume prune?).\n` +
            "  next: run the same sso-docker run again: it sets the volume up anew.\n",
        );
        return 1;
      }
    }
    return 0;
  } finally {
    clearInterval(watch);
    done.abort();
  }
}

/**
 * The container's start and its end: docker run exits when the container does, and this with it
 * (not a poll later: whoever reads docker's stderr waits for this process too).
 */
function followRun(
  engine: DockerEngine,
  token: string,
  done: AbortController,
): { opened: Promise<void>; id: Promise<string | undefined> } {
  let opened: () => void = () => undefined;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const events = engine.events({
    filters: { type: ["container"], event: ["start", "die"], label: [`${RUN_LABEL}=${token}`] },
    signal: done.signal,
    onOpen: () => {
      opened();
    },
  });
  let started: (id: string | undefined) => void = () => undefined;
  const id = new Promise<string | undefined>((resolve) => (started = resolve));
  void (async () => {
    try {
      for await (const event of events) {
        if (event.action === "start") started(event.id);
        if (event.action === "die") done.abort();
      }
    } catch {
      // The engine went away: docker run reports that itself.
    }
    started(undefined);
    opened();
  })();
  return { opened: open, id };
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.exitCode = reportError(error, { debug: false });
}
