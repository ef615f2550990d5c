import { cp, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "./cli-support.js";
import { arnOf, PROFILES, startRunFixture, type RunFixture } from "./run-support.js";
import { sweepTestContainersAfterAll, TEST_LABEL, testRunId } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import {
  callerIdentityIn,
  cliOptions,
  DEVCONTAINER,
  DevcontainerEvents,
  FEATURE_SOURCE,
  removeWorkspace,
  serializedBuild,
  upJson,
} from "./devcontainer-support.js";

// The documented Dev Containers setup, end to end with the real @devcontainers/cli: the Feature
// by local path, the one-line initializeCommand that starts `sso-docker agent --detach`, and the
// AWS CLI in the container calling the fake STS (which checks the SigV4 signature) as the remote user.

const LIFETIME_SECONDS = 20; // the agent re-pushes every ~10 s: a rotation happens within the test
/** The Feature's `region` option: what the profiles have until the first push (the host's is eu-west-1). */
const FEATURE_REGION = "eu-central-1";
const docker = new Docker();

sweepTestContainersAfterAll();

let fx: RunFixture;
let workspace: string;
let events: DevcontainerEvents;
let containerId: string;
const up = (...extra: string[]) =>
  execa(
    ...serializedBuild(["up", "--workspace-folder", workspace, "--buildkit", "never", ...extra]),
    cliOptions(fx.env),
  );
const inContainer = (command: readonly string[]) =>
  execa(DEVCONTAINER, ["exec", "--workspace-folder", workspace, ...command], cliOptions(fx.env));
const callerIdentity = (profile?: string) => callerIdentityIn(workspace, fx.env, fx.endpoint, profile);

beforeAll(async () => {
  fx = await startRunFixture({ roleCredentialSeconds: LIFETIME_SECONDS });
  workspace = await mkdtemp(join(tmpdir(), "sso-docker-devcontainer-"));
  const dotDevcontainer = join(workspace, ".devcontainer");
  await mkdir(dotDevcontainer);
  // A local Feature must sit inside .devcontainer/: a copy, as a user would vendor it.
  await cp(FEATURE_SOURCE, join(dotDevcontainer, "sso-docker"), { recursive: true });
  const config = {
    name: "sso-docker e2e",
    image: fx.images.debianAws,
    remoteUser: "dev",
    features: { "./sso-docker": { profiles: "dev,ops", region: FEATURE_REGION } },
    // What the README documents, with the built CLI instead of a global `sso-docker`. It runs in
    // the environment of `devcontainer up` (HOME and the fake's endpoints here).
    initializeCommand: `${process.execPath} ${CLI} agent --detach --no-browser`,
    runArgs: ["--add-host=host.docker.internal:host-gateway", `--label=${TEST_LABEL}=${testRunId}`],
  };
  await writeFile(join(dotDevcontainer, "devcontainer.json"), JSON.stringify(config, null, 2));
  events = await DevcontainerEvents.follow(docker, workspace);
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  events.close();
  await removeWorkspace(workspace, fx.env);
  await fx[Symbol.asyncDispose]();
});

describe("Dev Container with the sso-docker Feature and the agent from initializeCommand", () => {
  it("`devcontainer up` starts the agent and the AWS CLI works as the remote user within seconds", async () => {
    const mark = events.mark();
    const started = Date.now();
    const result = await up();
    expect(result.exitCode, result.all).toBe(0);
    const outcome = upJson(result.stdout);
    expect(outcome).toMatchObject({ outcome: "success", remoteUser: "dev" });
    containerId = outcome.containerId;
    const upMs = Date.now() - started;
    expect(result.all).toMatch(/Started the sso-docker agent for unix:\/\/\/var\/run\/docker.sock/);

    const push = await events.push(mark, 15_000);
    expect(push.containerId).toBe(containerId);
    const identity = await callerIdentity();
    expect(identity.exitCode, identity.all).toBe(0);
    const readyMs = Date.now() - started - upMs;
    console.info(`devcontainer up: ${upMs} ms; aws sts get-caller-identity succeeded ${readyMs} ms after it`);
    expect(JSON.parse(identity.stdout)).toMatchObject({ Arn: arnOf("dev") });
    const ops = await callerIdentity("ops");
    expect(JSON.parse(ops.stdout)).toMatchObject({ Arn: arnOf("ops") });

    const owner = await inContainer([
      "sh",
      "-c",
      // The dir is root's and not listable: the files by name.
      "id -un; stat -c '%U %a' /dev/shm/sso-docker /dev/shm/sso-docker/dev.json /dev/shm/sso-docker/ops.json",
    ]);
    expect(owner.stdout.split("\n")).toEqual([
      "dev",
      "root 711",
      "dev 600", // dev.json
      "dev 600", // ops.json
    ]);
  }, 600_000);

  it("keeps working across a rotation of the role credentials", async () => {
    const before = await pushedKey();
    const mark = events.mark();
    await events.push(mark, LIFETIME_SECONDS * 1000);
    const after = await pushedKey();
    expect(after).not.toBe(before);
    const identity = await callerIdentity();
    expect(identity.exitCode, identity.all).toBe(0);
    expect(JSON.parse(identity.stdout)).toMatchObject({ Arn: arnOf("dev") });
  }, 60_000);

  it("has credentials back within 1 s of a start after a stop (tmpfs emptied), via `devcontainer up`", async () => {
    await execa("docker", ["stop", "--time", "1", containerId]);
    const mark = events.mark();
    const result = await up();
    expect(result.exitCode, result.all).toBe(0);
    expect(upJson(result.stdout).containerId).toBe(containerId);
    expect(result.all).toMatch(/already running/);
    const push = await events.push(mark, 10_000);
    const start = events.lastStart(containerId, mark);
    const latencyMs = (push.timeNano - start.timeNano) / 1e6;
    console.info(`start → credentials pushed: ${latencyMs.toFixed(0)} ms`);
    expect(latencyMs).toBeLessThan(1000);
    const identity = await callerIdentity();
    expect(identity.exitCode, identity.all).toBe(0);
  }, 120_000);

  it("has credentials in a rebuilt container within 1 s of its start, with no bind mount but the workspace", async () => {
    const mark = events.mark();
    const result = await up("--remove-existing-container");
    expect(result.exitCode, result.all).toBe(0);
    const rebuilt = upJson(result.stdout).containerId;
    expect(rebuilt).not.toBe(containerId);
    containerId = rebuilt;
    const push = await events.push(mark, 10_000, rebuilt);
    const latencyMs = (push.timeNano - events.lastStart(rebuilt, mark).timeNano) / 1e6;
    console.info(`rebuilt: start → credentials pushed: ${latencyMs.toFixed(0)} ms`);
    expect(latencyMs).toBeLessThan(1000);
    const identity = await callerIdentity();
    expect(identity.exitCode, identity.all).toBe(0);

    const info = await docker.getContainer(rebuilt).inspect();
    expect(info.Mounts.map((m) => ({ type: m.Type, source: m.Source }))).toEqual([
      { type: "bind", source: workspace },
    ]);
    const inspected = JSON.stringify(info);
    for (const secret of await fx.hostSecrets()) expect(inspected).not.toContain(secret);
    expect(info.Config.Env).toEqual(
      expect.arrayContaining(["AWS_CONFIG_FILE=/etc/sso-docker/config", "SSO_DOCKER_FEATURE=1"]),
    );
  }, 300_000);

  it("runs an AWS call made before the first push (a postStartCommand's) once the push lands, in the Feature's region", async () => {
    // A fresh container of the Feature's image, started while no agent runs: it holds only what
    // the Feature built (a restarted one keeps the config an earlier push wrote).
    await fx.stopAgent();
    const original = await docker.getContainer(containerId).inspect();
    const bound = ["devcontainer.local_folder", "devcontainer.config_file"].flatMap((name) => [
      "--label",
      `${name}=${original.Config.Labels[name] ?? ""}`,
    ]);
    const run = await execa("docker", [
      ...["run", "--detach", "--user", "dev", "--label", `${TEST_LABEL}=${testRunId}`, ...bound],
      ...["--add-host=host.docker.internal:host-gateway", original.Image, "sleep", "infinity"],
    ]);
    const fresh = run.stdout.trim();
    const exec = (command: readonly string[]) =>
      execa("docker", ["exec", fresh, ...command], { reject: false, all: true });
    const before = await exec(["aws", "configure", "get", "region"]);
    expect(before.stdout, before.all).toBe(FEATURE_REGION);

    // The AWS CLI reads its region, then runs the helper, which waits for the push.
    const early = exec(["aws", "sts", "get-caller-identity", "--endpoint-url", fx.endpoint]);
    let ended: string | undefined;
    void early.then((result) => (ended = result.all));
    await untilHelperRuns(fresh, () => ended);
    const mark = events.mark();
    await fx.startAgent();
    await events.push(mark, 15_000, fresh);
    const identity = await early;
    expect(identity.exitCode, identity.all).toBe(0);
    expect(JSON.parse(identity.stdout)).toMatchObject({ Arn: arnOf("dev") });
    const call = fx.idc.requests.filter((e) => e.operation === "GetCallerIdentity").at(-1);
    expect(call).toMatchObject({ status: 200, signingRegion: FEATURE_REGION });
    // The push put the host profile's own region in the Feature's place.
    const after = await exec(["aws", "configure", "get", "region"]);
    expect(after.stdout, after.all).toBe(PROFILES.dev.region);
    await execa("docker", ["rm", "--force", fresh]);
  }, 120_000);
});

/**
 * Until a process in the container runs the Feature's credential helper: an AWS call asked for
 * credentials and waits for the push. Bounded: there is no engine event for it.
 */
async function untilHelperRuns(container: string, ended: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 20_000;
  const list = "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done 2>/dev/null";
  for (;;) {
    const { stdout } = await execa("docker", ["exec", container, "sh", "-c", list], { reject: false });
    if (stdout.includes("/etc/sso-docker/credential-process")) return;
    const output = ended();
    if (output !== undefined)
      throw new Error(`the AWS call ended before it asked for credentials:\n${output}`);
    if (Date.now() > deadline)
      throw new Error(`no AWS call reached the credential helper within 20 s:\n${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The AccessKeyId the agent last pushed for profile dev, read as root from outside. */
async function pushedKey(): Promise<string> {
  const { stdout } = await execa("docker", ["exec", containerId, "cat", "/dev/shm/sso-docker/dev.json"]);
  return (JSON.parse(stdout) as { AccessKeyId: string }).AccessKeyId;
}
