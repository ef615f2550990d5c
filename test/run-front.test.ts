import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOOLEAN_LONG, BOOLEAN_SHORT } from "../src/run/run-args.js";
import { FRONT, REPO } from "./cli-support.js";
import { sweepTestContainers, testRunId } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { RUN_LAYOUT } from "../src/delivery/secret-dir.js";
import { renderStaticFiles } from "../src/delivery/static-files.js";
import { PLAN_ENV } from "../src/run/run-plan.js";
import { volumeName } from "../src/run/run-volume.js";
import { arnOf, awsCallerArn, PROFILES, runArgv, startRunFixture, type RunFixture } from "./run-support.js";

// The installed `sso-docker` is a shell front (src/cli/sso-docker.sh): a run whose profiles an
// earlier run has a plan for execs docker as the same process, with run-pusher.js beside it;
// anything the plan's run checked that has changed since sends the run through Node again.

let fx: RunFixture;

beforeAll(async () => {
  fx = await startRunFixture();
  // A profile only this file uses, so its config volume is this file's to remove.
  const config = await readFile(fx.home.configFile, "utf8");
  await writeFile(
    fx.home.configFile,
    `${config}\n[profile front]\nsso_session = corp\nsso_account_id = ${PROFILES.dev.account}\nsso_role_name = ${PROFILES.dev.role}\nregion = ap-south-1\n`,
  );
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await sweepTestContainers();
  await fx[Symbol.asyncDispose]();
});

/** `sso-docker run` started, not awaited; resolves `started` with the container's first stdout line. */
function startRun(args: readonly string[]) {
  const child = execa(FRONT, runArgv(args), {
    env: fx.env,
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: 60_000,
  });
  const firstLine = new Promise<string>((resolve) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      if (out.includes("\n")) resolve(out.split("\n")[0] ?? "");
    });
    void child.then(() => {
      resolve(out);
    });
  });
  return { child, firstLine };
}

/** The host process's program (its executable's name): `docker` once the front has exec'd it. */
async function programOf(pid: number | undefined): Promise<string> {
  return basename(await readlink(`/proc/${String(pid)}/exe`));
}

/** Runs `command`, then idles until SIGTERM, which it answers with exit 0. */
const idleAfter = (command: string) => [
  "sh",
  "-c",
  `trap 'exit 0' TERM; ${command}; while :; do sleep 3600 & wait $!; done`,
];

describe("the shell front of sso-docker run", () => {
  it("knows docker run's value-less options as run-args.ts does", async () => {
    const script = await readFile(`${REPO}/src/cli/sso-docker.sh`, "utf8");
    const long = /^\s+--interactive \|[^)]*\) ;;$/m.exec(script.replace(/ \\\n\s+/g, " "))?.[0] ?? "";
    const listed = [...long.matchAll(/--([a-z-]+)/g)].map((m) => m[1]);
    // detach and help are the two the front hands to Node.
    expect(new Set([...listed, "detach", "help"])).toEqual(BOOLEAN_LONG);
    const short = /^\s+i \| t \| P \| q\) ;;$/m.test(script);
    expect(short).toBe(true);
    expect(new Set(["i", "t", "P", "q", "d", "h"])).toEqual(BOOLEAN_SHORT);
  });

  it("finds its files through the links npm install -g makes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sso-docker-link-"));
    try {
      // bin/sso-docker -> ../lib/sso-docker (relative), lib/sso-docker -> the front (absolute).
      await mkdir(join(dir, "bin"));
      await mkdir(join(dir, "lib"));
      await symlink(FRONT, join(dir, "lib", "sso-docker"));
      await symlink("../lib/sso-docker", join(dir, "bin", "sso-docker"));
      const linked = await execa(join(dir, "bin", "sso-docker"), ["--version"], {
        env: fx.env,
        extendEnv: false,
      });
      const { version } = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as {
        version: string;
      };
      expect(linked.stdout).toBe(version);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("joins the variables run-plan.ts keys a plan on, in its order", async () => {
    const script = await readFile(`${REPO}/src/cli/sso-docker.sh`, "utf8");
    const line = /^\s+key="(.*)"$/m.exec(script)?.[1] ?? "";
    expect([...line.matchAll(/\$\{(\w+)-\}/g)].map((m) => m[1])).toEqual([...PLAN_ENV]);
    expect(line.endsWith("|$names")).toBe(true);
  });

  it("a repeat run execs docker itself, and the AWS CLI signs with pushed credentials from its first instruction", async () => {
    const image = fx.images.debianAws;
    const first = await fx.run([
      "--profile",
      "dev",
      "--rm",
      image,
      ...awsCallerArn("--endpoint-url", fx.endpoint),
    ]);
    expect([first.exitCode, first.stderr, first.stdout]).toEqual([0, "", arnOf("dev")]);

    const arn = awsCallerArn("--endpoint-url", fx.endpoint, "--profile", "dev").join(" ");
    const again = startRun(["--profile", "dev", "--rm", image, ...idleAfter(arn)]);
    expect(await again.firstLine).toBe(arnOf("dev"));
    // The process sso-docker was started as is now docker run: signals and the exit code are its.
    expect(await programOf(again.child.pid)).toBe("docker");
    again.child.kill("SIGTERM");
    const ended = await again.child;
    expect([ended.exitCode, ended.stderr]).toEqual([0, ""]);
  });

  it("the default chain and a second profile in the plan's container, and the exit code passes through", async () => {
    const image = fx.images.debianAws;
    const args = ["--profile", "ops", "--profile", "dev", "--rm", image, "sh", "-c"];
    const calls = [
      awsCallerArn("--endpoint-url", fx.endpoint).join(" "),
      awsCallerArn("--endpoint-url", fx.endpoint, "--profile", "dev").join(" "),
    ].join("; ");
    const viaNode = await fx.run([...args, `${calls}; exit 3`]);
    expect([viaNode.exitCode, viaNode.stderr, viaNode.stdout]).toEqual([
      3,
      "",
      `${arnOf("ops")}\n${arnOf("dev")}`,
    ]);
    // Both answers on one line, once both calls are done.
    const again = startRun([...args, idleAfter(`echo $(${calls})`).at(-1) ?? ""]);
    expect(await again.firstLine).toBe(`${arnOf("ops")} ${arnOf("dev")}`);
    expect(await programOf(again.child.pid)).toBe("docker");
    again.child.kill("SIGTERM");
    const ended = await again.child;
    expect([ended.exitCode, ended.stderr]).toEqual([0, ""]);
    const fast = await fx.run([...args, `${calls}; exit 3`]);
    expect([fast.exitCode, fast.stderr, fast.stdout]).toEqual([3, "", `${arnOf("ops")}\n${arnOf("dev")}`]);
  });

  it("an edit of the AWS config sends the next run through Node, which gives the container the new settings", async () => {
    const image = fx.images.busybox;
    const region = [
      "--profile",
      "dev",
      "--rm",
      image,
      "sh",
      "-c",
      "grep -m1 '^region' /run/sso-docker/etc/config",
    ];
    expect((await fx.run(region)).stdout).toBe("region = eu-west-1");
    const config = await readFile(fx.home.configFile, "utf8");
    try {
      await writeFile(fx.home.configFile, config.replace("region = eu-west-1", "region = eu-central-1"));
      const after = startRun([...region.slice(0, -3), ...idleAfter(region.at(-1) ?? "")]);
      expect(await after.firstLine).toBe("region = eu-central-1");
      // Node stays the parent of docker on this run.
      expect(await programOf(after.child.pid)).toBe("node");
      after.child.kill("SIGTERM");
      expect((await after.child).exitCode).toBe(0);
    } finally {
      await writeFile(fx.home.configFile, config);
    }
  });

  it("a config volume removed from the engine: the run says so, and the next one sets it up again", async () => {
    const image = fx.images.busybox;
    const run = ["--profile", "front", "--rm", image, "cat", "/run/sso-docker/etc/config"];
    expect((await fx.run(run)).exitCode).toBe(0);
    expect((await fx.run(run)).exitCode).toBe(0);
    const volume = volumeName(renderStaticFiles([{ name: "front", region: "ap-south-1" }], RUN_LAYOUT));
    await execa("docker", ["volume", "rm", volume]);
    const gone = await fx.run(run);
    expect(gone.exitCode).toBe(125);
    expect(gone.stderr).toContain(
      `\nsso-docker: volume ${volume}, which holds the container's AWS config, was removed from the Docker engine (docker volume prune?).\n  next: run the same sso-docker run again: it sets the volume up anew.`,
    );
    const again = await fx.run(run);
    expect([again.exitCode, again.stderr]).toEqual([0, ""]);
    expect(again.stdout).toContain("[profile front]");
  });

  it("the pusher ends at once when docker run has exited before it got going", async () => {
    // Its parent is not the pid it is told docker run has: that docker run is gone.
    const dir = `${fx.home.home}/.sso-docker/run-plans`;
    const [plan] = (await readdir(dir)).filter((name) => name.endsWith(".sh"));
    const pusher = await execa(
      process.execPath,
      [`${REPO}/dist/bin/run-pusher.js`, `${dir}/${plan ?? ""}`, `never-${testRunId}`, "1"],
      { env: fx.env, extendEnv: false, reject: false, timeout: 10_000 },
    );
    expect([pusher.exitCode, pusher.stderr, pusher.timedOut]).toEqual([0, "", false]);
  });

  it("after sso-docker logout a run is refused before any container exists", async () => {
    const image = fx.images.busybox;
    expect((await fx.run(["--profile", "dev", "--rm", image, "true"])).exitCode).toBe(0);
    const logout = await execa(FRONT, ["logout"], { env: fx.env, extendEnv: false, reject: false });
    expect(logout.exitCode).toBe(0);
    const name = `sso-docker-test-front-logout-${testRunId}`;
    const refused = await fx.run(["--profile", "dev", "--name", name, image, "true"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /^sso-docker: No SSO login found for profile dev .*\n {2}next: sso-docker login --profile dev$/,
    );
    expect((await execa("docker", ["ps", "-aq", "--filter", `name=^${name}$`])).stdout).toBe("");
  });
});
