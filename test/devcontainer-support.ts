import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type Docker from "dockerode";
import { execa } from "execa";
import { CLI, REPO } from "./cli-support.js";
import type { DockerEvent } from "./support/docker.js";

/** Shared by the test/devcontainer-*.test.ts suites: the real Dev Containers CLI and engine events. */

export const DEVCONTAINER = join(REPO, "node_modules", ".bin", "devcontainer");
export const FEATURE_SOURCE = join(REPO, "devcontainer-feature", "src", "sso-docker");

/**
 * The command line for a Dev Containers CLI call that builds on the machine's engine. Without
 * BuildKit the CLI stages every Feature build through one fixed image tag
 * (`dev_container_feature_content_temp`), so two builds at once can swap each other's Feature
 * options: builds from parallel test files take turns under flock(1) (a kernel lock, released if
 * the holder dies). Calls against another engine have their own tags and need no turn.
 */
export function serializedBuild(args: readonly string[]): [string, string[]] {
  return ["flock", [join(tmpdir(), "sso-docker-devcontainer-build.lock"), DEVCONTAINER, ...args]];
}

/**
 * Options of a Dev Containers CLI call with exactly `env` (nothing inherited): it never rejects,
 * so a test reads `exitCode` and the interleaved output `all`.
 */
export function cliOptions(env: Record<string, string>) {
  return { env, extendEnv: false, stdin: "ignore", reject: false, all: true } as const;
}

/**
 * `aws sts get-caller-identity` run by `devcontainer exec` as the workspace's remote user, against
 * the fake STS at `endpoint` (which checks the SigV4 signature).
 */
export function callerIdentityIn(
  workspace: string,
  env: Record<string, string>,
  endpoint: string,
  profile?: string,
) {
  const aws = ["aws", "sts", "get-caller-identity", "--endpoint-url", endpoint];
  if (profile !== undefined) aws.push("--profile", profile);
  return execa(DEVCONTAINER, ["exec", "--workspace-folder", workspace, ...aws], cliOptions(env));
}

/**
 * Teardown of a Dev Containers suite: stops the agent its initializeCommand started (with the
 * suite's `env`: the same HOME and engine), removes the images the CLI built for the workspace on
 * the machine's engine, then the workspace.
 */
export async function removeWorkspace(workspace: string, env: Record<string, string>): Promise<void> {
  await execa(process.execPath, [CLI, "agent", "stop"], { env, extendEnv: false, reject: false });
  const tags = await imagesOfWorkspace(workspace);
  if (tags.length > 0) await execa("docker", ["rmi", "--force", ...tags], { reject: false });
  await rm(workspace, { recursive: true, force: true });
}

export interface UpOutcome {
  outcome: string;
  containerId: string;
  remoteUser: string;
  remoteWorkspaceFolder: string;
}

/** `devcontainer up` prints one JSON line with the outcome on stdout (logs go to stderr). */
export function upJson(stdout: string): UpOutcome {
  const line = stdout
    .split("\n")
    .reverse()
    .find((text) => text.trim().startsWith("{"));
  if (line === undefined) throw new Error(`devcontainer up printed no outcome:\n${stdout}`);
  return JSON.parse(line) as UpOutcome;
}

/**
 * Images the CLI built for a workspace: it names them `vsc-<folder name>-<hash>[-features][-uid]`,
 * the folder name lower-cased and stripped to `[a-z0-9._-]`.
 */
export async function imagesOfWorkspace(folder: string): Promise<string[]> {
  const name = basename(folder)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "");
  const { stdout } = await execa("docker", [
    "images",
    "--format",
    "{{.Repository}}",
    "--filter",
    `reference=vsc-${name}-*`,
  ]);
  return [...new Set(stdout.split("\n").filter((tag) => tag !== ""))];
}

export interface Push {
  containerId: string;
  /** Engine time of the push exec's end. */
  timeNano: number;
}

/**
 * Every engine event of the containers of one Dev Containers workspace (label
 * `devcontainer.local_folder`), from the moment `follow` resolves: tests take a `mark()` before
 * they act and then await what happened after it, so no event can slip by and nothing sleeps.
 */
export class DevcontainerEvents {
  private readonly seen: DockerEvent[] = [];
  private readonly wakeups = new Set<() => void>();
  private failure: Error | undefined;

  private constructor(private readonly stream: NodeJS.ReadableStream & { destroy(): void }) {
    let buffered = "";
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") this.seen.push(JSON.parse(line) as DockerEvent);
      this.wake();
    });
    stream.on("error", (error: Error) => {
      this.failure = error;
      this.wake();
    });
  }

  static async follow(docker: Docker, folder: string): Promise<DevcontainerEvents> {
    const stream = await docker.getEvents({
      since: Date.now() / 1000,
      filters: { type: ["container"], label: [`devcontainer.local_folder=${folder}`] },
    });
    return new DevcontainerEvents(stream as NodeJS.ReadableStream & { destroy(): void });
  }

  mark(): number {
    return this.seen.length;
  }

  /**
   * The first credential push after `mark` that succeeded: the agent's `/bin/sh -s` exec (its
   * script comes on stdin), ended with exit code 0.
   */
  push(mark: number, timeoutMs: number, containerId?: string): Promise<Push> {
    return this.until(`a successful push after event #${mark}`, timeoutMs, () => {
      const pushes = new Set<string>();
      for (const event of this.seen.slice(mark)) {
        const execId = event.Actor.Attributes["execID"] ?? "";
        if (containerId !== undefined && event.Actor.ID !== containerId) continue;
        if (event.Action === "exec_start: /bin/sh -s") pushes.add(execId);
        if (event.Action === "exec_die" && pushes.has(execId) && event.Actor.Attributes["exitCode"] === "0") {
          return { containerId: event.Actor.ID, timeNano: event.timeNano };
        }
      }
      return undefined;
    });
  }

  /** The container's last `start` event after `mark`. */
  lastStart(containerId: string, mark: number): DockerEvent {
    const start = this.seen
      .slice(mark)
      .filter((e) => e.Actor.ID === containerId && e.Action === "start")
      .at(-1);
    if (start === undefined) throw new Error(`no start event of ${containerId.slice(0, 12)} after #${mark}`);
    return start;
  }

  close(): void {
    this.stream.destroy();
  }

  private wake(): void {
    for (const wakeup of [...this.wakeups]) wakeup();
  }

  private until<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.wakeups.delete(attempt);
      };
      const attempt = () => {
        if (this.failure) {
          finish();
          reject(this.failure);
          return;
        }
        const found = check();
        if (found !== undefined) {
          finish();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        this.wakeups.delete(attempt);
        const tail = this.seen.slice(-10).map((e) => `${e.Action} ${e.Actor.ID.slice(0, 12)}`);
        reject(new Error(`no ${what} within ${timeoutMs} ms; last events:\n${tail.join("\n")}`));
      }, timeoutMs);
      this.wakeups.add(attempt);
      attempt();
    });
  }
}
