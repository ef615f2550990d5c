import { randomUUID } from "node:crypto";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll } from "vitest";

/** Every container a test starts carries this label; its value is the run id of the test process. */
export const TEST_LABEL = "sso-docker.test";

/** One id per test process (vitest forks one per file), so a file's sweep never touches another's. */
export const testRunId = `${process.pid.toString()}-${randomUUID().slice(0, 8)}`;

export interface ContainerOptions {
  /** `--user`, e.g. "dev" or "1000:1000". */
  user?: string;
  env?: Readonly<Record<string, string>>;
  /** `--tmpfs` mounts, e.g. "/run/secrets:mode=0700,uid=1000". */
  tmpfs?: readonly string[];
  /** Adds `--add-host host.docker.internal:host-gateway`, for reaching a server on the host. */
  hostGateway?: boolean;
  labels?: Readonly<Record<string, string>>;
  /** Any other `docker run` flags, placed before the image. */
  args?: readonly string[];
}

export interface ExecOptions {
  user?: string;
  env?: Readonly<Record<string, string>>;
  /** Written to the command's stdin (`-i`). */
  input?: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface TestContainer {
  id: string;
  name: string;
  /** `docker exec`; resolves with the exit code rather than throwing on a non-zero one. */
  exec(command: readonly string[], options?: ExecOptions): Promise<CommandResult>;
  remove(): Promise<void>;
}

function runFlags(options: ContainerOptions, name: string): string[] {
  const labels = { ...options.labels, [TEST_LABEL]: testRunId };
  return [
    "--name",
    name,
    ...Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]),
    ...(options.user === undefined ? [] : ["--user", options.user]),
    ...envFlags(options.env),
    ...(options.tmpfs ?? []).flatMap((mount) => ["--tmpfs", mount]),
    ...(options.hostGateway === true ? ["--add-host", "host.docker.internal:host-gateway"] : []),
    ...(options.args ?? []),
  ];
}

function envFlags(env: Readonly<Record<string, string>> | undefined): string[] {
  return Object.entries(env ?? {}).flatMap(([key, value]) => ["--env", `${key}=${value}`]);
}

/** No stdin unless there is input: a test never waits on a terminal. */
function stdinOptions(input: string | undefined): { stdin: "ignore" } | { input: string } {
  return input === undefined ? { stdin: "ignore" } : { input };
}

function containerName(): string {
  return `sso-docker-test-${testRunId}-${randomUUID().slice(0, 8)}`;
}

/** Runs `command` in a fresh container (`docker run --rm`) to completion; never throws on its exit code. */
export async function runInImage(
  image: string,
  command: readonly string[],
  options: ContainerOptions & { input?: string } = {},
): Promise<CommandResult> {
  const interactive = options.input === undefined ? [] : ["-i"];
  const result = await execa(
    "docker",
    ["run", "--rm", ...interactive, ...runFlags(options, containerName()), image, ...command],
    { reject: false, ...stdinOptions(options.input) },
  );
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}

/**
 * PID 1 ignores SIGTERM unless it installs a handler; this one does, so `docker stop` is immediate.
 * Works with busybox and Debian alike.
 */
export const IDLE_COMMAND = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

/** Starts a long-lived labelled container (`docker run -d`), idling unless given a command. */
export async function startContainer(
  image: string,
  options: ContainerOptions & { command?: readonly string[] } = {},
): Promise<TestContainer> {
  const name = containerName();
  const { stdout } = await execa("docker", [
    "run",
    "--detach",
    ...runFlags(options, name),
    image,
    ...(options.command ?? IDLE_COMMAND),
  ]);
  const id = stdout.trim();
  return {
    id,
    name,
    async exec(command, execOptions = {}) {
      const flags = [
        ...(execOptions.input === undefined ? [] : ["-i"]),
        ...(execOptions.user === undefined ? [] : ["--user", execOptions.user]),
        ...envFlags(execOptions.env),
      ];
      const result = await execa("docker", ["exec", ...flags, id, ...command], {
        reject: false,
        ...stdinOptions(execOptions.input),
      });
      return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
    },
    async remove() {
      await execa("docker", ["rm", "--force", "--volumes", id]);
    },
  };
}

/** Removes every container labelled with `runId` (running or not); returns their ids. */
export async function sweepTestContainers(
  runId: string = testRunId,
  docker = new Docker(),
): Promise<string[]> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${TEST_LABEL}=${runId}`] },
  });
  await Promise.all(
    containers.map(async ({ Id }) => {
      try {
        await docker.getContainer(Id).remove({ force: true, v: true });
      } catch (error) {
        // 404: gone already (a --rm container finishing); 409: removal already in progress.
        const status = (error as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) throw error;
      }
    }),
  );
  return containers.map(({ Id }) => Id);
}

/** Call at the top of a test file: sweeps this process's containers after its tests. */
export function sweepTestContainersAfterAll(): void {
  afterAll(async () => {
    await sweepTestContainers();
  });
}

/** One message from the engine's `/events` stream. */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

export interface EventFilters {
  type?: ("container" | "image" | "network" | "volume")[];
  event?: string[];
  container?: string[];
  label?: string[];
}

/**
 * Resolves with the first engine event matching `filters` that happened at or after `since`.
 * Take `since` BEFORE triggering what you wait for: the engine replays past events from that
 * time, so an event that fires before the stream is open is still seen (no race, no sleep).
 * Rejects after `timeoutMs` naming the filters.
 */
export async function waitForDockerEvent(
  filters: EventFilters,
  options: { since: Date; timeoutMs?: number; docker?: Docker },
): Promise<DockerEvent> {
  const docker = options.docker ?? new Docker();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new Error(`no docker event ${JSON.stringify(filters)} within ${timeoutMs} ms`));
  }, timeoutMs);
  try {
    const stream = await docker
      .getEvents({ since: options.since.getTime() / 1000, filters, abortSignal: controller.signal })
      .catch((error: unknown) => {
        throw controller.signal.aborted ? (controller.signal.reason as Error) : error;
      });
    return await new Promise<DockerEvent>((resolve, reject) => {
      let buffered = "";
      const fail = () => {
        reject(controller.signal.reason as Error);
      };
      controller.signal.addEventListener("abort", fail, { once: true });
      stream.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        const line = lines.find((text) => text.trim() !== "");
        if (line !== undefined) resolve(JSON.parse(line) as DockerEvent);
      });
      stream.on("error", (error: Error) => {
        if (!controller.signal.aborted) reject(error);
      });
      stream.on("end", () => {
        reject(new Error(`docker event stream ended before ${JSON.stringify(filters)}`));
      });
    });
  } finally {
    clearTimeout(timer);
    controller.abort(new Error("done"));
  }
}

/**
 * The first line a container writes to stdout, read with `docker logs --follow` as it appears
 * (no polling); rejects after `timeoutMs`.
 */
export async function firstLogLine(container: string, timeoutMs = 30_000): Promise<string> {
  const follow = execa("docker", ["logs", "--follow", container], {
    stdin: "ignore",
    stderr: "ignore",
    buffer: false,
    reject: false,
    timeout: timeoutMs,
  });
  try {
    for await (const line of follow) {
      // Leaving the loop waits for the subprocess to end: without the kill, until `timeoutMs`.
      follow.kill();
      return line;
    }
  } finally {
    follow.kill();
  }
  throw new Error(`container ${container} wrote no line within ${timeoutMs} ms, or exited first`);
}
