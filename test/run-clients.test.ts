import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IDLE_COMMAND, sweepTestContainers, testRunId } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { RUN_HELPER_PATH, TMPFS_SECRET_DIR } from "../src/delivery/paths.js";
import {
  arnOf,
  awsCallerArn,
  JS_CALLER_IDENTITY,
  PY_CALLER_IDENTITY,
  startRunFixture,
  type RunFixture,
} from "./run-support.js";

// Acceptance 1 of issue 3: `sso-docker run` gives the real AWS CLI, boto3 and the JS SDK v3 in a
// Debian container working credentials from the container's first instruction. The fake answers
// STS GetCallerIdentity with the role's ARN only after verifying the SigV4 signature against
// credentials it issued, so each ARN below proves a real client signed with pushed credentials.

let fx: RunFixture;
let image: string;

beforeAll(async () => {
  fx = await startRunFixture();
  image = fx.images.debianAws;
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await sweepTestContainers();
  await fx[Symbol.asyncDispose]();
});

/** STS calls the fake answered, by outcome. */
function stsCalls() {
  return {
    ok: fx.idc.count("/", { operation: "GetCallerIdentity", status: 200 }),
    all: fx.idc.count("/", { operation: "GetCallerIdentity" }),
  };
}

const awsCli = awsCallerArn;

/** Ids of the containers, running or not, named exactly `name`. */
async function containerIds(name: string): Promise<string> {
  return (await execa("docker", ["ps", "-aq", "--filter", `name=^${name}$`])).stdout;
}

describe("sso-docker run with real AWS clients", () => {
  it("the AWS CLI as the container's first command, as root, with --profile", async () => {
    const before = stsCalls();
    const result = await fx.run([
      "--profile",
      "dev",
      "--rm",
      image,
      ...awsCli("--endpoint-url", fx.endpoint),
    ]);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(arnOf("dev"));
    expect(stsCalls()).toEqual({ ok: before.ok + 1, all: before.all + 1 });
  });

  it("default chains (no profile named inside) as the first command: AWS CLI, boto3 as -u dev, JS SDK as root", async () => {
    const before = stsCalls();
    const cases = [
      ["-u", "dev", image, ...awsCli("--endpoint-url", fx.endpoint)],
      ["-u", "dev", image, "python3", "-c", PY_CALLER_IDENTITY, fx.endpoint],
      [image, "node", "-e", JS_CALLER_IDENTITY, fx.endpoint],
    ];
    const results = await Promise.all(cases.map((args) => fx.run(["--profile", "dev", "--rm", ...args])));
    for (const [i, result] of results.entries()) {
      expect({
        case: cases[i],
        stderr: result.stderr,
        exitCode: result.exitCode,
        stdout: result.stdout,
      }).toEqual({
        case: cases[i],
        stderr: "",
        exitCode: 0,
        stdout: arnOf("dev"),
      });
    }
    expect(stsCalls()).toEqual({ ok: before.ok + cases.length, all: before.all + cases.length });
  });

  it("the helper, read by a non-root user at once, waits for the first push instead of failing", async () => {
    // No client startup time to hide the race: the very first instruction reads the credentials.
    const result = await fx.run([
      "--profile",
      "dev",
      "--rm",
      "-u",
      "1000:1000",
      image,
      "sh",
      "-c",
      `sh ${RUN_HELPER_PATH} ${TMPFS_SECRET_DIR}/dev.json | head -c 28`,
    ]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe('{"Version":1,"AccessKeyId":"');
    expect(result.exitCode).toBe(0);
  });

  it("two --profile flags: each profile is its own role, the first is the default", async () => {
    const script = [
      `aws sts get-caller-identity --output text --query Arn --endpoint-url "$1" --profile dev`,
      `aws sts get-caller-identity --output text --query Arn --endpoint-url "$1" --profile ops`,
      `aws sts get-caller-identity --output text --query Arn --endpoint-url "$1"`,
      `AWS_PROFILE=ops python3 -c "$3" "$1"`,
      `AWS_PROFILE=ops node -e "$2" "$1"`,
    ].join(" && ");
    const result = await fx.run([
      "--profile",
      "dev",
      "--profile",
      "ops",
      "--rm",
      "-u",
      "dev",
      image,
      "sh",
      "-c",
      script,
      "sh",
      fx.endpoint,
      JS_CALLER_IDENTITY,
      PY_CALLER_IDENTITY,
    ]);
    expect(result.stderr).toBe("");
    expect(result.stdout.split("\n")).toEqual([
      arnOf("dev"),
      arnOf("ops"),
      arnOf("dev"),
      arnOf("ops"),
      arnOf("ops"),
    ]);
    expect(result.exitCode).toBe(0);
  });

  it("without --profile, AWS_PROFILE on the host names the profile", async () => {
    const result = await fx.run(["--rm", image, ...awsCli("--endpoint-url", fx.endpoint)], {
      env: { AWS_PROFILE: "ops" },
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(arnOf("ops"));
  });

  it("passes the container's exit code through", async () => {
    const [seven, zero] = await Promise.all([
      fx.run(["--profile", "dev", "--rm", fx.images.busybox, "sh", "-c", "exit 7"]),
      fx.run(["--profile", "dev", "--rm", fx.images.busybox, "true"]),
    ]);
    expect([seven.exitCode, seven.stderr]).toEqual([7, ""]);
    expect([zero.exitCode, zero.stderr]).toEqual([0, ""]);
  });

  it("starts the container without loading any package from node_modules, through Node or the front (role credentials cached)", async () => {
    // What `node` loads from node_modules, ES modules (resolve hook) and CommonJS (require cache).
    const dir = await mkdtemp(join(tmpdir(), "sso-docker-loads-"));
    const log = join(dir, "loaded.txt");
    await writeFile(log, "");
    await writeFile(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.includes("/node_modules/")) appendFileSync(${JSON.stringify(log)}, result.url + "\\n");
  return result;
}
`,
    );
    await writeFile(
      join(dir, "register.mjs"),
      `import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
register("./hooks.mjs", import.meta.url);
const cache = createRequire(import.meta.url).cache;
process.on("exit", () => {
  for (const file of Object.keys(cache)) if (file.includes("/node_modules/")) appendFileSync(${JSON.stringify(log)}, file + "\\n");
});
`,
    );
    const { busybox } = fx.images;
    expect((await fx.run(["--profile", "dev", "--rm", busybox, "true"])).exitCode).toBe(0);
    // Through Node (main.js and run-entry.js), then through the shell front (run-pusher.js).
    for (const env of [{ SSO_DOCKER_NODE_RUN: "1" }, {}]) {
      const watched = await fx.run(["--profile", "dev", "--rm", busybox, "true"], {
        env: { ...env, NODE_OPTIONS: `--import ${join(dir, "register.mjs")}` },
      });
      expect(watched.stderr).toBe("");
      expect(watched.exitCode).toBe(0);
    }
    expect((await readFile(log, "utf8")).split("\n").filter(Boolean)).toEqual([]);
  });

  it("without a login it refuses before any container exists, and says which command signs in", async () => {
    await rm(fx.home.cliCacheDir, { recursive: true, force: true });
    const aside = `${fx.home.ssoCacheDir}.aside`;
    await rename(fx.home.ssoCacheDir, aside);
    const name = `sso-docker-test-no-login-${testRunId}`;
    try {
      const result = await fx.run(["--profile", "dev", "--name", name, fx.images.busybox, "true"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toBe(
        [
          "sso-docker: No SSO login found for profile dev (sso-session corp).",
          "  next: sso-docker login --profile dev",
        ].join("\n"),
      );
      // Without --rm a container that had been created would still be listed.
      expect(await containerIds(name)).toBe("");
    } finally {
      await rename(aside, fx.home.ssoCacheDir);
    }
  });

  it("a GetRoleCredentials refusal while the container starts stops it, naming the profile and the next step", async () => {
    // No role credentials cached: they are fetched while docker creates and starts the container.
    await rm(fx.home.cliCacheDir, { recursive: true, force: true });
    fx.idc.failNext({ path: "/federation/credentials", status: 403, errorType: "ForbiddenException" });
    const name = `sso-docker-test-refused-${testRunId}`;
    const result = await fx.run([
      "--profile",
      "dev",
      "--rm",
      "--name",
      name,
      fx.images.busybox,
      ...IDLE_COMMAND,
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      [
        "sso-docker: IAM Identity Center refused GetRoleCredentials for profile dev: the account or role is not assigned to you.",
        "  next: sso-docker configure --profile dev",
      ].join("\n"),
    );
    // Stopped, so --rm removed it: it did not idle on without credentials.
    expect(await containerIds(name)).toBe("");
  });

  it("-d prints the container id, and the container already has credentials", async () => {
    const result = await fx.run(["--profile", "ops", "-d", image, ...IDLE_COMMAND]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^[0-9a-f]{64}$/);
    expect(result.stderr).toMatch(/^sso-docker: credentials in [0-9a-f]{12} expire at /);
    // `docker exec` with the container's env: AWS_CONFIG_FILE points the CLI at the synced profiles.
    const inside = await execa("docker", ["exec", result.stdout, ...awsCli("--endpoint-url", fx.endpoint)], {
      reject: false,
    });
    expect([inside.stdout, inside.stderr]).toEqual([arnOf("ops"), ""]);
  });
});
