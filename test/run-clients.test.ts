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
  processesOfHome,
  PY_CALLER_IDENTITY,
  runArgv,
  startRunFixture,
  type RunFixture,
} from "./run-support.js";
import { BIN, NODE_DIR } from "./cli-support.js";

// Acceptance 1 of issue 3 and of issue 10: `sso-docker run` gives the real AWS CLI, boto3 and the
// JS SDK v3 in a Debian container working credentials from the container's first instruction,
// attached and with -d, through the HOME's agent: run only checks, then becomes `docker run`, and
// no process of its own stays beside the container. The fake answers STS GetCallerIdentity with
// the role's ARN only after verifying the SigV4 signature against credentials it issued, so each
// ARN below proves a real client signed with pushed credentials.

let fx: RunFixture;
let image: string;

beforeAll(async () => {
  fx = await startRunFixture();
  image = fx.images.debianAws;
  // Started here, so every run below finds it (test/run-agent.test.ts has runs that start it).
  await fx.startAgent();
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
/** Two profiles of one sso-session; the first is the container's default. */
const DEV_AND_OPS = ["--profile", "dev", "--profile", "ops"];

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
      ...DEV_AND_OPS,
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

  it("starts the container without loading any package from node_modules", async () => {
    // What `node` loads from node_modules: ES modules (resolve hook) and CommonJS (require cache,
    // read at exit, or just before process.execve replaces the process with docker).
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
const dump = () => {
  for (const file of Object.keys(cache)) if (file.includes("/node_modules/")) appendFileSync(${JSON.stringify(log)}, file + "\\n");
};
process.on("exit", dump);
const execve = process.execve;
if (execve) process.execve = (...args) => { dump(); appendFileSync(${JSON.stringify(log)}, "(execve)\\n"); return execve.apply(process, args); };
`,
    );
    const { busybox } = fx.images;
    const watched = await fx.run(["--profile", "dev", "--rm", busybox, "true"], {
      env: { NODE_OPTIONS: `--import ${join(dir, "register.mjs")}` },
    });
    expect(watched.stderr).toBe("");
    expect(watched.exitCode).toBe(0);
    const execve = typeof (process as { execve?: unknown }).execve === "function";
    expect((await readFile(log, "utf8")).split("\n").filter(Boolean)).toEqual(execve ? ["(execve)"] : []);
  });

  it("without a login, one sign-in happens (device flow: no browser here) before the container exists, for both profiles of the session", async () => {
    const aside = `${fx.home.ssoCacheDir}.aside`;
    await rename(fx.home.ssoCacheDir, aside);
    const before = fx.idc.count("/device_authorization");
    try {
      const result = await fx.run([
        ...DEV_AND_OPS,
        "--rm",
        image,
        ...awsCli("--endpoint-url", fx.endpoint, "--profile", "ops"),
      ]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toBe(arnOf("ops"));
      const lines = result.stderr.split("\n");
      expect(lines[0]).toBe(
        "sso-docker: profile dev needs a sign-in (sso-session corp) before the container starts.",
      );
      // The fake approves at once, so the first token request succeeds and no code is shown.
      expect(lines.at(-1)).toBe("Signed in");
      expect(fx.idc.count("/device_authorization") - before).toBe(1);
    } finally {
      await rm(fx.home.ssoCacheDir, { recursive: true, force: true });
      await rename(aside, fx.home.ssoCacheDir);
    }
  });

  it("a sign-in that fails refuses the run before any container exists", async () => {
    const aside = `${fx.home.ssoCacheDir}.aside`;
    await rename(fx.home.ssoCacheDir, aside);
    fx.idc.failNext({ path: "/device_authorization", status: 500, count: 10 });
    const name = `sso-docker-test-no-login-${testRunId}`;
    try {
      const result = await fx.run(["--profile", "dev", "--name", name, fx.images.busybox, "true"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.split("\n")[0]).toBe(
        "sso-docker: profile dev needs a sign-in (sso-session corp) before the container starts.",
      );
      expect(result.stderr).toMatch(/^sso-docker: .*\n {2}next: /m);
      // Without --rm a container that had been created would still be listed.
      expect(await containerIds(name)).toBe("");
    } finally {
      await rm(fx.home.ssoCacheDir, { recursive: true, force: true });
      await rename(aside, fx.home.ssoCacheDir);
    }
  });

  it("-d prints the container id and returns; the agent supplies the container", async () => {
    const result = await fx.run(["--profile", "ops", "-d", image, ...IDLE_COMMAND]);
    expect([result.exitCode, result.stderr]).toEqual([0, ""]);
    expect(result.stdout).toMatch(/^[0-9a-f]{64}$/);
    // `docker exec` with the container's env: AWS_CONFIG_FILE points the CLI at the synced
    // profiles, and the helper waits for the agent's push.
    const inside = await execa("docker", ["exec", result.stdout, ...awsCli("--endpoint-url", fx.endpoint)], {
      reject: false,
    });
    expect([inside.stdout, inside.stderr]).toEqual([arnOf("ops"), ""]);
  });

  it("no process of sso-docker's stays beside the container but the agent: run is docker run (or, without process.execve, its parent)", async () => {
    const agent = await fx.agentPid();
    expect(agent).toBeDefined();
    const others = async () => (await processesOfHome(fx.home.home)).filter((p) => p.pid !== agent);

    const detached = await fx.run(["--profile", "dev", "-d", fx.images.busybox, ...IDLE_COMMAND]);
    expect(detached.exitCode, detached.stderr).toBe(0);
    expect(await others()).toEqual([]);

    const attached = execa(
      BIN,
      runArgv(["--profile", "dev", "--rm", fx.images.busybox, "sh", "-c", `echo ready; ${IDLE_COMMAND[2]}`]),
      { env: fx.env, extendEnv: false, stdin: "ignore", reject: false, timeout: 60_000 },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        attached.stdout.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("ready")) resolve();
        });
        attached.once("exit", () => {
          reject(new Error("sso-docker run ended before the container said ready"));
        });
      });
      const execve = typeof (process as { execve?: unknown }).execve === "function";
      const left = (await others()).map((p) => ({
        pid: p.pid === attached.pid ? "run" : p.ppid === attached.pid ? "child of run" : p.pid,
        exe:
          p.exe === join(NODE_DIR, "node") || p.exe === process.execPath ? "node" : p.exe.split("/").at(-1),
      }));
      expect(left).toEqual(
        execve
          ? [{ pid: "run", exe: "docker" }]
          : [
              { pid: "run", exe: "node" },
              { pid: "child of run", exe: "docker" },
            ],
      );
    } finally {
      attached.kill("SIGTERM");
      await attached;
    }
  });
});
