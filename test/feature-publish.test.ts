import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, REPO } from "./cli-support.js";
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
import { arnOf, PROFILES, startRunFixture, type RunFixture } from "./run-support.js";
import { sweepTestContainersAfterAll, TEST_LABEL, testRunId } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { startOciRegistry, type OciRegistry } from "./support/oci-registry.js";

// The Feature as users get it: `devcontainer features publish` pushes it to an OCI registry (a
// local Debian docker-registry standing in for ghcr.io), and a devcontainer.json names it by
// reference — nothing of it in the workspace. `devcontainer up` pulls it from the registry, builds
// the image, and with the agent started by initializeCommand the AWS CLI in the container signs a
// call to the fake STS as the remote user.

const NAMESPACE = "sso-docker-test/features";
const docker = new Docker();

sweepTestContainersAfterAll();

let fx: RunFixture;
let registry: OciRegistry;
let workspace: string;
let events: DevcontainerEvents;
let version: string;

beforeAll(async () => {
  [fx, registry] = await Promise.all([startRunFixture(), startOciRegistry()]);
  const manifest = JSON.parse(await readFile(join(FEATURE_SOURCE, "devcontainer-feature.json"), "utf8")) as {
    version: string;
  };
  version = manifest.version;
  workspace = await mkdtemp(join(tmpdir(), "sso-docker-feature-publish-"));
  events = await DevcontainerEvents.follow(docker, workspace);
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  events.close();
  await removeWorkspace(workspace, fx.env);
  await registry[Symbol.asyncDispose]();
  await fx[Symbol.asyncDispose]();
});

describe("the Feature published to an OCI registry and used by reference", () => {
  it("`devcontainer features publish` pushes it with its semver tags", async () => {
    const publish = await execa(
      DEVCONTAINER,
      [
        "features",
        "publish",
        "--registry",
        registry.host,
        "--namespace",
        NAMESPACE,
        "devcontainer-feature/src",
      ],
      { ...cliOptions(fx.env), cwd: REPO },
    );
    expect(publish.exitCode, publish.all).toBe(0);
    const [major, minor] = version.split(".");
    const published = JSON.parse(publish.stdout) as Record<string, { publishedTags: string[] }>;
    expect(published["sso-docker"]?.publishedTags).toEqual([major, `${major}.${minor}`, version, "latest"]);

    const list = await fetch(`http://${registry.host}/v2/${NAMESPACE}/sso-docker/tags/list`);
    expect(list.status).toBe(200);
    const { tags } = (await list.json()) as { tags: string[] };
    expect(tags.sort()).toEqual([major, `${major}.${minor}`, version, "latest"].sort());
  }, 60_000);

  it("`devcontainer up` of a devcontainer.json naming it by reference gives the remote user credentials", async () => {
    const [major] = version.split(".");
    const reference = `${registry.host}/${NAMESPACE}/sso-docker:${String(major)}`;
    const dotDevcontainer = join(workspace, ".devcontainer");
    await mkdir(dotDevcontainer);
    const config = {
      name: "sso-docker by reference",
      image: fx.images.debianAws,
      remoteUser: "dev",
      features: { [reference]: { profiles: "dev" } },
      initializeCommand: `${process.execPath} ${CLI} agent --detach --no-browser`,
      runArgs: ["--add-host=host.docker.internal:host-gateway", `--label=${TEST_LABEL}=${testRunId}`],
    };
    await writeFile(join(dotDevcontainer, "devcontainer.json"), JSON.stringify(config, null, 2));
    // Only the config: the Feature can come from nowhere but the registry.
    expect(await readdir(dotDevcontainer)).toEqual(["devcontainer.json"]);
    const pulledBefore = featurePulls(registry.log());

    const mark = events.mark();
    const up = await execa(
      ...serializedBuild(["up", "--workspace-folder", workspace, "--buildkit", "never"]),
      cliOptions(fx.env),
    );
    expect(up.exitCode, up.all).toBe(0);
    const outcome = upJson(up.stdout);
    expect(outcome).toMatchObject({ outcome: "success", remoteUser: "dev" });
    expect(featurePulls(registry.log())).toBeGreaterThan(pulledBefore);

    const push = await events.push(mark, 15_000);
    expect(push.containerId).toBe(outcome.containerId);
    const identity = await callerIdentityIn(workspace, fx.env, fx.endpoint);
    expect(identity.exitCode, identity.all).toBe(0);
    expect(JSON.parse(identity.stdout)).toMatchObject({ Arn: arnOf("dev") });
    // No --region above: the host's [profile dev] region reaches the container in the config the
    // agent pushes over the Feature's build-time one (which cannot know it).
    const region = await execa(
      DEVCONTAINER,
      ["exec", "--workspace-folder", workspace, "aws", "configure", "get", "region"],
      cliOptions(fx.env),
    );
    expect(region.stdout.trim(), region.all).toBe(PROFILES.dev.region);

    const info = await docker.getContainer(outcome.containerId).inspect();
    expect(info.Config.Env).toEqual(
      expect.arrayContaining(["AWS_CONFIG_FILE=/etc/sso-docker/config", "SSO_DOCKER_FEATURE=1"]),
    );
  }, 600_000);
});

/** Requests for the Feature's layer blob the registry has answered so far. */
function featurePulls(log: string): number {
  return log
    .split("\n")
    .filter(
      (line) =>
        line.includes("response completed") &&
        line.includes("http.request.method=GET") &&
        line.includes(`/v2/${NAMESPACE}/sso-docker/blobs/`),
    ).length;
}
