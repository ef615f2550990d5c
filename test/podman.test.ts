import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentFiles } from "../src/agent/agent-files.js";
import { NODE_DIR, runCli } from "./cli-support.js";
import { IDLE_COMMAND, sweepTestContainers } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { ensurePodman, podman, PODMAN_HOST, PODMAN_SOCKET } from "./support/podman.js";
import { arnOf, awsCallerArn, startRunFixture, type RunFixture } from "./run-support.js";

// Issue 12, acceptance 1: rootful Podman 4.3 (Debian's package) as the engine, through its
// Docker-compatible API (DOCKER_HOST=unix:///run/podman/podman.sock): `sso-docker run` becomes
// the podman CLI with mount options podman takes, the agent it starts supplies the container and
// drops it when it stops, a config volume pruned before the container is made is refused, and
// `status` names the engine. The CLI's PATH has podman and, as `docker`, podman-docker's
// stand-in for the docker CLI (which is podman) — no docker CLI. Podman 4.3 has no `host-gateway`: its containers reach the host as
// host.containers.internal.

let fx: RunFixture | undefined;
/** Stand-in executables: `docker` as Debian's podman-docker makes it, and a `podman` that prunes. */
let cliDir: string | undefined;
const podmanDocker = new Docker({ socketPath: PODMAN_SOCKET });

beforeAll(async () => {
  cliDir = await mkdtemp(join(tmpdir(), "sso-docker-podman-"));
  // A Podman machine has no docker CLI, or podman-docker's `docker`, which is podman.
  await executable(join(cliDir, "docker"), ["#!/bin/sh", 'exec /usr/bin/podman "$@"']);
  fx = await startRunFixture(
    {},
    {
      env: {
        DOCKER_HOST: PODMAN_HOST,
        PATH: `${cliDir}:${NODE_DIR}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
      },
      hostArgs: [],
      hostName: "host.containers.internal",
    },
  );
  await ensurePodman(fx.images);
}, IMAGE_BUILD_TIMEOUT_MS);

async function executable(path: string, lines: readonly string[]): Promise<void> {
  await writeFile(path, [...lines, ""].join("\n"));
  await chmod(path, 0o755);
}

afterAll(async () => {
  await sweepTestContainers(undefined, podmanDocker);
  await fx?.[Symbol.asyncDispose]();
  if (cliDir !== undefined) await rm(cliDir, { recursive: true, force: true });
});

function fixture(): RunFixture {
  if (fx === undefined) throw new Error("the Podman run fixture has not started");
  return fx;
}

/** What the agent pushed, read as the container's user through the helper (it waits for the push). */
async function pushedArn(id: string, profile: string, endpoint: string): Promise<string> {
  const read = await podman(["exec", id, ...awsCallerArn("--endpoint-url", endpoint, "--profile", profile)]);
  if (read.exitCode !== 0) throw new Error(`aws in ${id.slice(0, 12)} failed: ${read.stderr}`);
  return read.stdout;
}

/**
 * Resolves at the first line of the agent's log matching `pattern`, read as the agent writes it
 * (`tail -F`); rejects after `timeoutMs` with the lines seen.
 */
async function agentLogLine(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const { logFile } = agentFiles(fixture().env, fixture().home.home, PODMAN_HOST);
  const tail = execa("tail", ["-F", "-n", "+1", logFile], {
    stdin: "ignore",
    stderr: "ignore",
    buffer: false,
    reject: false,
    timeout: timeoutMs,
  });
  const seen: string[] = [];
  try {
    for await (const line of tail) {
      seen.push(line);
      if (pattern.test(line)) {
        // Leaving the loop waits for tail to end: without the kill, until `timeoutMs`.
        tail.kill();
        return line;
      }
    }
  } finally {
    tail.kill();
  }
  throw new Error(
    `no agent log line ${String(pattern)} within ${timeoutMs} ms; seen:\n${seen.slice(-15).join("\n")}`,
  );
}

describe("Podman as the engine", () => {
  it("attached: sso-docker run starts the agent for the Podman socket and aws in the container signs STS with its credentials", async () => {
    const f = fixture();
    const run = await f.run([
      "--profile",
      "dev",
      "--rm",
      f.images.debianAws,
      ...awsCallerArn("--endpoint-url", f.endpoint),
    ]);
    expect(run.stderr).toContain(`started the agent for ${PODMAN_HOST}`);
    expect([run.exitCode, run.stdout]).toEqual([0, arnOf("dev")]);
  });

  it("-d: the container gets credentials from the running agent, and is dropped when it stops", async () => {
    const f = fixture();
    const run = await f.run(["--profile", "ops", "-d", f.images.debianAws, ...IDLE_COMMAND]);
    expect([run.exitCode, run.stderr]).toEqual([0, ""]);
    const id = run.stdout.trim();
    expect(await pushedArn(id, "ops", f.endpoint)).toBe(arnOf("ops"));
    const { stdout: name } = await podman(["inspect", "--format", "{{.Name}}", id]);
    const stop = await podman(["stop", "--time", "2", id]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(
      await agentLogLine(new RegExp(`container ${name.replace(/^\//, "")} stopped; no longer synced`)),
    ).toBeTruthy();
    const status = JSON.parse((await runCli(["status", "--json"], f.env)).stdout) as {
      containers: { name: string }[];
    };
    expect(status.containers.map((c) => c.name)).not.toContain(name.replace(/^\//, ""));
  });

  it("a config volume pruned between the checks and the container is refused, and the next run mends it", async () => {
    const f = fixture();
    const profiles = ["--profile", "ops", "--profile", "dev"];
    const marker = "ran with config";
    const command = ["sh", "-c", `test -s /run/sso-docker/etc/config && echo '${marker}'`];
    const first = await f.run([...profiles, "--rm", f.images.busybox, ...command]);
    expect([first.exitCode, first.stdout], first.stderr).toEqual([0, marker]);

    // The podman sso-docker becomes, after `podman volume prune` took the volume it just checked.
    const wrapper = join(cliDir ?? "", "prune", "podman");
    await mkdir(dirname(wrapper));
    await executable(wrapper, [
      "#!/bin/sh",
      'for a in "$@"; do case $a in *src=sso-docker-profiles-*) v=${a#*src=}; v=${v%%,*};; esac; done',
      `/usr/bin/podman --remote --url ${PODMAN_HOST} volume rm "$v" >&2 || exit 99`,
      'exec /usr/bin/podman "$@"',
    ]);
    const pruned = await f.run([...profiles, "--rm", f.images.busybox, ...command], {
      env: { SSO_DOCKER_CLI: wrapper },
    });
    expect(pruned.stdout).not.toContain(marker);
    expect(pruned.exitCode, pruned.stderr).toBe(126);
    expect(pruned.stderr).toMatch(/unknown filesystem type 'sso-docker-missing'/);

    const again = await f.run([...profiles, "--rm", f.images.busybox, ...command]);
    expect([again.exitCode, again.stdout], again.stderr).toEqual([0, marker]);
  });

  it("status names the engine it talks to: Podman on the Podman socket, Docker on Docker's", async () => {
    const f = fixture();
    const onPodman = await runCli(["status"], f.env);
    expect(onPodman.stdout.split("\n")[0]).toBe(`Engine: Podman 4.3.1 at ${PODMAN_HOST}`);
    const json = JSON.parse((await runCli(["status", "--json"], f.env)).stdout) as { engine: unknown };
    expect(json.engine).toEqual({ host: PODMAN_HOST, product: "Podman", version: "4.3.1" });
    const { DOCKER_HOST: _, ...dockerEnv } = f.env;
    const onDocker = await runCli(["status"], dockerEnv);
    expect(onDocker.stdout.split("\n")[0]).toMatch(
      /^Engine: Docker 20\.10\.\S+ at unix:\/\/\/var\/run\/docker\.sock$/,
    );
  });
});
