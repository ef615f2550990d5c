import { spawn, type ChildProcess } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "./cli-support.js";
import { DEVCONTAINER, DevcontainerEvents, FEATURE_SOURCE, upJson } from "./devcontainer-support.js";
import { arnOf, startRunFixture, type RunFixture } from "./run-support.js";
import { TEST_LABEL, testRunId } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";

// The Dev Containers setup against a remote engine: a second dockerd of its own (own data root,
// own containerd, own bridge) listening only on a loopback TCP port, reached with DOCKER_HOST=tcp://… by the
// Dev Containers CLI and by the agent alike. Nothing of the host's is mounted but the workspace
// the CLI itself binds; credentials arrive through the engine API only.

let fx: RunFixture;
let daemon: SecondDaemon;
let workspace: string;
let events: DevcontainerEvents;
let env: Record<string, string>;
let containerId: string;

const devcontainer = (args: readonly string[]) =>
  execa(DEVCONTAINER, args, { env, extendEnv: false, stdin: "ignore", reject: false, all: true });
const up = () => devcontainer(["up", "--workspace-folder", workspace, "--buildkit", "never"]);
const callerIdentity = () =>
  devcontainer([
    "exec",
    "--workspace-folder",
    workspace,
    "aws",
    "sts",
    "get-caller-identity",
    "--endpoint-url",
    // Host networking (the second engine's bridge has no NAT): the fake listens on the host's loopback.
    fx.idc.url,
  ]);

beforeAll(async () => {
  [fx, daemon] = await Promise.all([startRunFixture(), startSecondDaemon()]);
  env = { ...fx.env, DOCKER_HOST: daemon.host };
  // The second engine has its own image store: give it the test image the way one would a
  // remote machine without a registry.
  await execa("sh", ["-c", `docker save "$1" | docker -H "$2" load`, "sh", fx.images.debianAws, daemon.host]);
  workspace = await mkdtemp(join(tmpdir(), "sso-docker-devcontainer-remote-"));
  await mkdir(join(workspace, ".devcontainer"));
  await cp(FEATURE_SOURCE, join(workspace, ".devcontainer", "sso-docker"), { recursive: true });
  const config = {
    image: fx.images.debianAws,
    remoteUser: "dev",
    features: { "./sso-docker": { profiles: "dev" } },
    initializeCommand: `${process.execPath} ${CLI} agent --detach --no-browser`,
    runArgs: ["--network=host", `--label=${TEST_LABEL}=${testRunId}`],
  };
  await writeFile(join(workspace, ".devcontainer", "devcontainer.json"), JSON.stringify(config, null, 2));
  events = await DevcontainerEvents.follow(daemon.docker, workspace);
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  events.close();
  await execa(process.execPath, [CLI, "agent", "stop"], { env, extendEnv: false, reject: false });
  await daemon[Symbol.asyncDispose]();
  await rm(workspace, { recursive: true, force: true });
  await fx[Symbol.asyncDispose]();
});

describe("Dev Container on a remote engine (DOCKER_HOST=tcp://127.0.0.1:PORT, a second dockerd)", () => {
  it("gets credentials for the remote user over the engine API, with no bind mount but the workspace", async () => {
    const mark = events.mark();
    const result = await up();
    expect(result.exitCode, result.all).toBe(0);
    const outcome = upJson(result.stdout);
    expect(outcome).toMatchObject({ outcome: "success", remoteUser: "dev" });
    containerId = outcome.containerId;
    expect(result.all).toContain(`Started the sso-docker agent for ${daemon.host}`);
    await events.push(mark, 15_000, containerId);
    const identity = await callerIdentity();
    expect(identity.exitCode, identity.all).toBe(0);
    expect(JSON.parse(identity.stdout)).toMatchObject({ Arn: arnOf("dev") });

    const info = await daemon.docker.getContainer(containerId).inspect();
    expect(info.Mounts.map((m) => ({ type: m.Type, source: m.Source }))).toEqual([
      { type: "bind", source: workspace },
    ]);
    const inspected = JSON.stringify(info);
    for (const secret of await fx.hostSecrets()) expect(inspected).not.toContain(secret);
    // The local engine never saw the container.
    await expect(new Docker().getContainer(containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 600_000);

  it("has credentials back within 1 s of a start after a stop", async () => {
    await daemon.docker.getContainer(containerId).stop({ t: 1 });
    const mark = events.mark();
    await daemon.docker.getContainer(containerId).start();
    const push = await events.push(mark, 10_000, containerId);
    const latencyMs = (push.timeNano - events.lastStart(containerId, mark).timeNano) / 1e6;
    console.info(`remote engine: start → credentials pushed: ${latencyMs.toFixed(0)} ms`);
    expect(latencyMs).toBeLessThan(1000);
    expect((await callerIdentity()).exitCode).toBe(0);
  }, 60_000);
});

interface SecondDaemon extends AsyncDisposable {
  /** `tcp://127.0.0.1:PORT` */
  host: string;
  docker: Docker;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A dockerd of our own, ready once it logs that its API listens; stopped and removed after.
 * It gets a bridge of its own: `--bridge none` would make it delete the host's docker0 at start
 * (dockerd removes the default bridge interface when bridging is off), breaking the main engine.
 */
async function startSecondDaemon(): Promise<SecondDaemon> {
  const root = await mkdtemp(join(tmpdir(), "sso-docker-dockerd-"));
  const port = await freePort();
  const bridge = `ssodk${(port % 10000).toString()}`;
  await execa("ip", ["link", "add", "name", bridge, "type", "bridge"]);
  await execa("ip", ["addr", "add", `10.213.${(port % 250).toString()}.1/24`, "dev", bridge]);
  await execa("ip", ["link", "set", bridge, "up"]);
  const child: ChildProcess = spawn(
    "dockerd",
    [
      ...["--data-root", join(root, "data"), "--exec-root", join(root, "exec")],
      ...["--pidfile", join(root, "dockerd.pid"), "--host", `tcp://127.0.0.1:${port}`],
      // No iptables or sysctl changes: nothing that could touch the machine's own engine.
      ...[
        "--bridge",
        bridge,
        "--iptables=false",
        "--ip-masq=false",
        "--ip6tables=false",
        "--ip-forward=false",
      ],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const dispose = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    // dockerd can leave its network namespace mounted in the exec root.
    await execa("umount", [join(root, "exec", "netns", "default")], { reject: false });
    await execa("ip", ["link", "delete", bridge], { reject: false });
    await rm(root, { recursive: true, force: true });
  };
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`dockerd did not listen within 30 s:\n${log.slice(-2000)}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString("utf8")).slice(-20_000); // keep reading: a full pipe would block dockerd
      if (log.includes(`API listen on 127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`dockerd exited (${String(code)}):\n${log.slice(-2000)}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    host: `tcp://127.0.0.1:${port}`,
    docker: new Docker({ host: "127.0.0.1", port }),
    [Symbol.asyncDispose]: dispose,
  };
}
