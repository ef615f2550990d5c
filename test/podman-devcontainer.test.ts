import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "./cli-support.js";
import { DEVCONTAINER, FEATURE_SOURCE, upJson } from "./devcontainer-support.js";
import { arnOf, awsCallerArn, startRunFixture, type RunFixture } from "./run-support.js";
import { sweepTestContainers, TEST_LABEL, testRunId } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import {
  ensurePodman,
  podman,
  PODMAN_CONTAINERS_CONF,
  PODMAN_HOST,
  PODMAN_SOCKET,
} from "./support/podman.js";

// Issue 12, acceptance 1: the Feature on Podman, as the Dev Containers CLI drives it
// (`devcontainer up --docker-path podman`): the Feature by local path, the agent from
// initializeCommand following the Podman socket, and the AWS CLI as the remote user signing STS.

let fx: RunFixture | undefined;
let workspace: string | undefined;
const podmanDocker = new Docker({ socketPath: PODMAN_SOCKET });

beforeAll(async () => {
  fx = await startRunFixture(
    {},
    { env: { DOCKER_HOST: PODMAN_HOST }, hostArgs: [], hostName: "host.containers.internal" },
  );
  await ensurePodman(fx.images);
  workspace = await mkdtemp(join(tmpdir(), "sso-docker-podman-devcontainer-"));
  const dotDevcontainer = join(workspace, ".devcontainer");
  await mkdir(dotDevcontainer);
  await cp(FEATURE_SOURCE, join(dotDevcontainer, "sso-docker"), { recursive: true });
  const config = {
    name: "sso-docker on podman",
    image: fx.images.debianAws,
    remoteUser: "dev",
    features: { "./sso-docker": { profiles: "dev" } },
    initializeCommand: `${process.execPath} ${CLI} agent --detach --no-browser`,
    // The Dev Containers CLI adds --userns=keep-id for a non-root remote user on Podman unless
    // runArgs map ids, and rootful Podman refuses keep-id: an identity map is what rootful means.
    runArgs: [`--label=${TEST_LABEL}=${testRunId}`, "--uidmap=0:0:65536", "--gidmap=0:0:65536"],
  };
  await writeFile(join(dotDevcontainer, "devcontainer.json"), JSON.stringify(config, null, 2));
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await sweepTestContainers(undefined, podmanDocker);
  if (fx !== undefined) {
    await execa(process.execPath, [CLI, "agent", "stop"], { env: fx.env, extendEnv: false, reject: false });
    await fx[Symbol.asyncDispose]();
  }
  if (workspace !== undefined) {
    // The images the CLI built for this workspace: `vsc-<folder name>-<hash>[-features][-uid]`.
    const name = basename(workspace).toLowerCase();
    const listed = await podman([
      "images",
      "--format",
      "{{.Repository}}",
      "--filter",
      `reference=*vsc-${name}-*`,
    ]);
    const tags = [...new Set(listed.stdout.split("\n").filter((tag) => tag !== ""))];
    if (tags.length > 0) await podman(["rmi", ...tags]);
    await rm(workspace, { recursive: true, force: true });
  }
});

describe("the Feature on Podman", () => {
  it("`devcontainer up --docker-path podman` starts the agent for the Podman socket and the AWS CLI works as the remote user", async () => {
    const f = fixture();
    const up = await execa(
      DEVCONTAINER,
      ["up", "--workspace-folder", workspace ?? "", "--docker-path", "podman", "--buildkit", "never"],
      {
        // The podman CLI makes the container itself, not through the service: it needs the
        // sandbox's containers.conf too (test/support/podman.ts).
        env: { ...f.env, CONTAINERS_CONF: PODMAN_CONTAINERS_CONF },
        extendEnv: false,
        stdin: "ignore",
        reject: false,
        all: true,
      },
    );
    expect(up.exitCode, up.all).toBe(0);
    const outcome = upJson(up.stdout);
    expect(outcome).toMatchObject({ outcome: "success", remoteUser: "dev" });
    expect(up.all).toContain(`Started the sso-docker agent for ${PODMAN_HOST}`);
    const identity = await podman([
      "exec",
      "--user",
      "dev",
      outcome.containerId,
      ...awsCallerArn("--endpoint-url", f.endpoint),
    ]);
    expect([identity.exitCode, identity.stdout], identity.stderr).toEqual([0, arnOf("dev")]);
  }, 300_000);
});

function fixture(): RunFixture {
  if (fx === undefined) throw new Error("the Podman fixture has not started");
  return fx;
}
