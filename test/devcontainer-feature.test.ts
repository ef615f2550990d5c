import { readFile, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELPER_SCRIPT } from "../src/delivery/helper-script.js";
import { CONFIG_PATH } from "../src/delivery/paths.js";
import { renderAwsConfig } from "../src/delivery/profile-files.js";
import { SHM_LAYOUT } from "../src/delivery/secret-dir.js";
import { REPO } from "./cli-support.js";
import { imagesOfWorkspace, serializedBuild } from "./devcontainer-support.js";
import { runInImage, sweepTestContainersAfterAll } from "./support/docker.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS, type TestImages } from "./support/images.js";

// The Dev Container Feature (devcontainer-feature/): its files kept in sync with what the agent
// pushes, install.sh run in a bare busybox, and the real `devcontainer features test`.

const COLLECTION = join(REPO, "devcontainer-feature");
const FEATURE = join(COLLECTION, "src", "sso-docker");
/** scenarios.json names the Debian image by this alias: the real tag is a hash of its recipe. */
const DEBIAN_ALIAS = "sso-docker-test/debian-aws:feature-test";

sweepTestContainersAfterAll();

let images: TestImages;
beforeAll(async () => {
  images = await ensureTestImages();
  await execa("docker", ["tag", images.debianAws, DEBIAN_ALIAS]);
}, IMAGE_BUILD_TIMEOUT_MS);

interface FeatureJson {
  id: string;
  version: string;
  options: Record<string, { type: string; default: unknown }>;
  containerEnv: Record<string, string>;
}

describe("Dev Container Feature files", () => {
  it("installs exactly the helper that sso-docker pushes", async () => {
    const copy = await readFile(join(FEATURE, "credential-process"), "utf8");
    // `npm run build` refreshes the copy (devcontainer-feature/sync-helper.mjs).
    expect(copy, "devcontainer-feature/src/sso-docker/credential-process is stale: npm run build").toBe(
      HELPER_SCRIPT,
    );
  });

  it("declares the spec's required fields, defaults for every option and the static env", async () => {
    const json = JSON.parse(
      await readFile(join(FEATURE, "devcontainer-feature.json"), "utf8"),
    ) as FeatureJson;
    expect(json.id).toBe(basename(FEATURE));
    expect(json.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.keys(json.options).sort()).toEqual(["profiles", "region", "user"]);
    for (const option of Object.values(json.options)) expect(option.default).toBeTypeOf("string");
    expect(json.containerEnv).toEqual({ AWS_CONFIG_FILE: CONFIG_PATH, SSO_DOCKER_FEATURE: "1" });
  });
});

describe("install.sh in a bare busybox (no bash, no getent, no network)", () => {
  /** Runs install.sh as the CLI does: options as upper-case env, the built-ins beside them. */
  function install(
    env: Record<string, string>,
    script = "sh install.sh >/dev/null && cat /etc/sso-docker/config",
  ) {
    return runInImage(images.busybox, ["sh", "-c", `cd /feature && ${script}`], {
      env: { _REMOTE_USER: "dev", _REMOTE_USER_HOME: "/home/dev", ...env },
      args: ["--network", "none", "--volume", `${FEATURE}:/feature:ro`],
    });
  }

  it("writes the config sso-docker renders, file names %-encoded the same way", async () => {
    const names = ["dev.admin", ".hidden", "a@b+c=d:e/f", "x_y-z", "default.", "UPPER9"];
    const result = await install({ PROFILES: ` ${names.join(" , ")} ,${names[0]!}`, USER: "" });
    expect(result.exitCode, result.stderr).toBe(0);
    const [header, ...rest] = result.stdout.split("\n");
    expect(header).toMatch(/^# Written by the sso-docker Dev Container Feature/);
    const expected = renderAwsConfig(
      names.map((name) => ({ name })),
      SHM_LAYOUT,
    );
    expect(`${rest.join("\n")}\n`).toBe(expected.slice(expected.indexOf("\n") + 1));
  });

  it("gives every profile the region option until the first push, in the layout sso-docker renders", async () => {
    const result = await install({ PROFILES: "dev,ops", REGION: "eu-central-1", USER: "" });
    expect(result.exitCode, result.stderr).toBe(0);
    const expected = renderAwsConfig(
      ["dev", "ops"].map((name) => ({ name, region: "eu-central-1" })),
      SHM_LAYOUT,
    );
    const body = (config: string) => config.slice(config.indexOf("\n") + 1);
    // execa drops the output's final newline.
    expect(`${body(result.stdout)}\n`).toBe(body(expected));
  });

  it("is idempotent and tells the agent the profiles and the owner", async () => {
    const script = [
      "sh install.sh >/dev/null && sh install.sh >/dev/null",
      "cat /etc/sso-docker/profiles /etc/sso-docker/user",
      "ls -ln /etc/sso-docker /home/dev/.aws",
    ].join(" && ");
    const result = await install({ PROFILES: "dev,ops", USER: "" }, script);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^dev\nops\ndev\n/);
    expect(result.stdout).toMatch(/^-rw-r--r-- +1 0 +0 .* config$/m);
    expect(result.stdout).toMatch(/^-rw-r--r-- +1 0 +0 .* credential-process$/m);
    expect(result.stdout).toMatch(/^lrwxrwxrwx +1 1000 +1000 .* config -> \/etc\/sso-docker\/config$/m);
    expect(result.stdout).not.toMatch(/\.tmp\./);
  });

  it("leaves a user's own ~/.aws/config alone", async () => {
    const script =
      "mkdir -p /home/dev/.aws && echo mine > /home/dev/.aws/config && sh install.sh && cat /home/dev/.aws/config";
    const result = await install({ PROFILES: "dev", USER: "" }, script);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain("/home/dev/.aws/config exists; left alone");
    expect(result.stdout.trim().split("\n").at(-1)).toBe("mine");
  });

  it.each([
    ["dev ops", 'profile name "dev ops" is not allowed'],
    ["dev,[x]", 'profile name "[x]" is not allowed'],
    ["*", 'profile name "*" is not allowed'],
    [" , ", 'option "profiles" names no profile'],
  ])("fails the build with a clear message for profiles %j", async (profiles, message) => {
    const result = await install({ PROFILES: profiles, USER: "" });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(`sso-docker feature: ${message}`);
    expect(result.stdout).toBe("");
  });

  it.each(["EU-WEST-1", "eu west 1", "eu-west-1\n[profile x]", "-eu", "eu-"])(
    "fails the build with a clear message for region %j",
    async (region) => {
      const result = await install({ PROFILES: "dev", REGION: region, USER: "" });
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain(`sso-docker feature: region "${region}" is not an AWS region code`);
      expect(result.stdout).toBe("");
    },
  );

  it("rejects a user option that is not a user name", async () => {
    const result = await install({ PROFILES: "dev", USER: "dev\nroot" });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('option "user"');
  });
});

describe("devcontainer features test (the real @devcontainers/cli)", () => {
  const workspaces: string[] = [];

  afterAll(async () => {
    // Its test containers, images and temp workspaces, found by the workspace folders it printed.
    for (const folder of workspaces) {
      const { stdout } = await execa("docker", [
        "ps",
        "--all",
        "--quiet",
        "--filter",
        `label=devcontainer.local_folder=${folder}`,
      ]);
      const ids = stdout.split("\n").filter((id) => id !== "");
      if (ids.length > 0) await execa("docker", ["rm", "--force", ...ids], { reject: false });
      const tags = await imagesOfWorkspace(folder);
      if (tags.length > 0) await execa("docker", ["rmi", "--force", ...tags], { reject: false });
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("passes test.sh on Debian (remote user dev) and every scenario, busybox ones included", async () => {
    const started = Date.now();
    const result = await execa(
      ...serializedBuild([
        "features",
        "test",
        "--project-folder",
        COLLECTION,
        "--features",
        "sso-docker",
        "--base-image",
        DEBIAN_ALIAS,
        "--remote-user",
        "dev",
        "--skip-duplicated",
        // Its default clean-up removes every test container on the engine, a parallel run's too.
        "--preserve-test-containers",
      ]),
      { all: true, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } },
    );
    const output = result.all;
    for (const match of output.matchAll(/workspaceFolder: +(\S+)/g)) workspaces.push(match[1]!);
    const report = output.slice(output.lastIndexOf("TEST REPORT"));
    console.info(`devcontainer features test: ${Math.round((Date.now() - started) / 1000)} s\n${report}`);
    expect(result.exitCode, output.slice(-6000)).toBe(0);
    const passed = [...report.matchAll(/Passed: +'([^']+)'/g)].map((m) => m[1]).sort();
    expect(passed).toEqual([
      "busybox_custom_user",
      "busybox_defaults",
      "debian_dotted_profiles",
      "debian_two_profiles",
      "sso-docker",
    ]);
  }, 900_000);
});
