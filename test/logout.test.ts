import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-support.js";
import { IDLE_COMMAND, sweepTestContainers } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { filesAfterSignOut, secretFiles } from "./support/secret-dir.js";
import { pushedCredentials, startRunFixture, type RunFixture } from "./run-support.js";

// DESIGN.md invariant 6 on a shared engine: `sso-docker logout` removes the credentials it
// pushed from every container — and only those. Two HOMEs (two people on one engine) each start
// a container with `sso-docker run -d`, which their own agents supply; one signs out.

let mine: RunFixture;
let theirs: RunFixture;
const ids = { mine: "", theirs: "" };

async function nameOf(id: string): Promise<string> {
  return (await execa("docker", ["inspect", "-f", "{{.Name}}", id])).stdout.replace(/^\//, "");
}

const SECRETS = "/run/sso-docker/secrets";
const secretsOf = (id: string) => secretFiles(id, SECRETS);

beforeAll(async () => {
  [mine, theirs] = await Promise.all([startRunFixture(), startRunFixture()]);
  for (const [key, fx] of [
    ["mine", mine],
    ["theirs", theirs],
  ] as const) {
    const result = await fx.run(["--profile", "dev", "-d", fx.images.busybox, ...IDLE_COMMAND]);
    expect(result.exitCode, result.stderr).toBe(0);
    ids[key] = result.stdout;
    // Each HOME's agent (the run started it) pushes at the container's start.
    await pushedCredentials(result.stdout, "dev");
  }
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await sweepTestContainers();
  await Promise.all([mine[Symbol.asyncDispose](), theirs[Symbol.asyncDispose]()]);
});

describe("sso-docker logout on a shared engine", () => {
  it("empties the containers this HOME supplied and leaves another user's alone, saying so", async () => {
    expect(await secretsOf(ids.mine)).toBe("credentials\ndev.json");
    expect(await secretsOf(ids.theirs)).toBe("credentials\ndev.json");

    const result = await runCli(["logout"], mine.env);
    expect(result.exitCode).toBe(0);
    const [myName, theirName] = await Promise.all([nameOf(ids.mine), nameOf(ids.theirs)]);
    const removed = /^Removed synced credentials from \d+ container\(s\): (.*)\.$/m.exec(result.stderr)?.[1];
    const left = /^Left \d+ container\(s\) alone that are not bound to you \(.*?\): (.*)\.$/m.exec(
      result.stderr,
    )?.[1];
    expect(removed?.split(", ")).toContain(myName);
    expect(removed?.split(", ")).not.toContain(theirName);
    expect(left?.split(", ")).toContain(theirName);

    expect(await filesAfterSignOut(ids.mine, SECRETS)).toEqual([]);
    expect(await secretsOf(ids.theirs)).toBe("credentials\ndev.json");
    // Their AWS CLI still works from the credentials they had.
    const read = await execa("docker", [
      "exec",
      ids.theirs,
      "sh",
      "/run/sso-docker/etc/credential-process",
      "/run/sso-docker/secrets/dev.json",
    ]);
    expect(read.stdout).toMatch(/^\{"Version":1,"AccessKeyId":"/);
  });
});
