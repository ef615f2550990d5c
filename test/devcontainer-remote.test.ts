import { cp, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "./cli-support.js";
import {
  callerIdentityIn,
  cliOptions,
  DEVCONTAINER,
  DevcontainerEvents,
  FEATURE_SOURCE,
  removeWorkspace,
  upJson,
} from "./devcontainer-support.js";
import { arnOf, startRunFixture, type RunFixture } from "./run-support.js";
import { TEST_LABEL, testRunId } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { startSecondEngine, type SecondEngine } from "./support/remote-engine.js";

// The Dev Containers setup against a remote engine: a second dockerd (own data root, containerd
// and bridge; test/support/remote-engine.ts) listening only on a loopback TCP port, reached with
// DOCKER_HOST=tcp://… by the Dev Containers CLI and by the agent alike. Nothing of the host's is mounted but the workspace
// the CLI itself binds; credentials arrive through the engine API only.

let fx: RunFixture;
let engine: SecondEngine;
let remote: Docker;
let workspace: string;
let events: DevcontainerEvents;
let env: Record<string, string>;
let containerId: string;

const up = () =>
  execa(DEVCONTAINER, ["up", "--workspace-folder", workspace, "--buildkit", "never"], cliOptions(env));
// Host networking (the second engine's bridge has no NAT): the fake listens on the host's loopback.
const callerIdentity = () => callerIdentityIn(workspace, env, fx.idc.url);

beforeAll(async () => {
  fx = await startRunFixture();
  // Its own image store gets the test image the way a remote machine without a registry would.
  engine = await startSecondEngine([fx.images.debianAws]);
  remote = new Docker({ host: "127.0.0.1", port: engine.port });
  env = { ...fx.env, DOCKER_HOST: engine.host };
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
  events = await DevcontainerEvents.follow(remote, workspace);
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  events.close();
  await removeWorkspace(workspace, env);
  await engine[Symbol.asyncDispose](); // and with it the images the CLI built there
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
    expect(result.all).toContain(`Started the sso-docker agent for ${engine.host}`);
    await events.push(mark, 15_000, containerId);
    const identity = await callerIdentity();
    expect(identity.exitCode, identity.all).toBe(0);
    expect(JSON.parse(identity.stdout)).toMatchObject({ Arn: arnOf("dev") });

    const info = await remote.getContainer(containerId).inspect();
    expect(info.Mounts.map((m) => ({ type: m.Type, source: m.Source }))).toEqual([
      { type: "bind", source: workspace },
    ]);
    const inspected = JSON.stringify(info);
    for (const secret of await fx.hostSecrets()) expect(inspected).not.toContain(secret);
    // The local engine never saw the container.
    await expect(new Docker().getContainer(containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 600_000);

  it("has credentials back within 1 s of a start after a stop", async () => {
    await remote.getContainer(containerId).stop({ t: 1 });
    const mark = events.mark();
    await remote.getContainer(containerId).start();
    const push = await events.push(mark, 10_000, containerId);
    const latencyMs = (push.timeNano - events.lastStart(containerId, mark).timeNano) / 1e6;
    console.info(`remote engine: start → credentials pushed: ${latencyMs.toFixed(0)} ms`);
    expect(latencyMs).toBeLessThan(1000);
    expect((await callerIdentity()).exitCode).toBe(0);
  }, 60_000);
});
