import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firstLogLine, sweepTestContainers, testRunId } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { startRunFixture, type RunFixture } from "./run-support.js";
import {
  RUN_CONFIG_PATH,
  RUN_DIR,
  RUN_ETC_DIR,
  RUN_HELPER_PATH,
  TMPFS_SECRET_DIR,
} from "../src/delivery/paths.js";

// Acceptance 3 of issue 3, for `sso-docker run` containers: DESIGN.md security invariants 1, 2,
// 3 and 5 against a real engine (4 is the host cache suites'; 6, logout, is agent-recovery's).
// The pushes are the agent's, which the first run starts (with --debug, as that run has it).

const USER_IMAGE = "sso-docker-test/busybox-user-dev:1";
const COMMITTED_IMAGE = `sso-docker-test/committed:${testRunId}`;
const SECRET_DIR = TMPFS_SECRET_DIR;

let fx: RunFixture;

/** busybox with `USER dev` in the image config. */
async function buildUserImage(busybox: string): Promise<void> {
  if ((await execa("docker", ["image", "inspect", USER_IMAGE], { reject: false })).exitCode === 0) return;
  await execa("docker", ["build", "-q", "-t", USER_IMAGE, "-"], {
    input: `FROM ${busybox}\nUSER dev\n`,
    env: { DOCKER_BUILDKIT: "0" },
  });
}

/** `ps -eo args` on the host, over and over, until `signal` aborts. */
async function sampleHostArgs(signal: AbortSignal): Promise<string[]> {
  const samples: string[] = [];
  while (!signal.aborted) samples.push((await execa("ps", ["-eo", "args"])).stdout);
  return samples;
}

// The container's first instruction reads its credentials through the helper (which waits for
// the first push) and logs only their first bytes; then it idles.
const READ_THEN_IDLE = (profile: string) => [
  "sh",
  "-c",
  `sh ${RUN_HELPER_PATH} ${SECRET_DIR}/${profile}.json | head -c 28; echo; exec sleep 600`,
];

interface Started {
  id: string;
  profile: string;
  uid: number;
  stderr: string;
  /** What the container's first instruction printed: the start of the JSON it read. */
  firstLine: string;
}

const containers: Record<string, Started> = {};
let debugRun: { stdout: string; stderr: string };
let psSamples: string[];
let hostShmBefore: string[];

async function start(key: string, profile: string, uid: number, args: readonly string[], debug = false) {
  const result = await fx.run(["--profile", profile, "-d", ...args], { debug });
  expect(result.stderr).not.toMatch(/error|warning/i);
  expect(result.exitCode).toBe(0);
  const firstLine = await firstLogLine(result.stdout);
  containers[key] = { id: result.stdout, profile, uid, stderr: result.stderr, firstLine };
  return result;
}

beforeAll(async () => {
  fx = await startRunFixture();
  const { busybox } = fx.images;
  await buildUserImage(busybox);
  hostShmBefore = await readdir("/dev/shm", { recursive: true });

  const sampling = new AbortController();
  const sampler = sampleHostArgs(sampling.signal);
  // The --debug run goes first: it starts the agent, with --debug, and it is the only one with
  // profile ops, so the agent's log says it fetched that role.
  debugRun = await start("root", "ops", 0, [busybox, ...READ_THEN_IDLE("ops")], true);
  await Promise.all([
    start("dev", "dev", 1000, ["-u", "dev", busybox, ...READ_THEN_IDLE("dev")]),
    start("uid", "dev", 1000, ["-u", "1000:1000", busybox, ...READ_THEN_IDLE("dev")]),
    start("imageUser", "dev", 1000, [USER_IMAGE, ...READ_THEN_IDLE("dev")]),
    start("ipcHost", "dev", 0, ["--ipc=host", busybox, ...READ_THEN_IDLE("dev")]),
  ]);
  sampling.abort();
  psSamples = await sampler;
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await sweepTestContainers();
  await execa("docker", ["rmi", "-f", COMMITTED_IMAGE], { reject: false });
  await fx[Symbol.asyncDispose]();
});

/** Runs a shell snippet in the container as root. */
async function rootSh(id: string, script: string): Promise<string> {
  return (await execa("docker", ["exec", "-u", "0", id, "sh", "-c", script])).stdout;
}

interface PushedJson {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
}

async function pushedJson(c: Started): Promise<PushedJson> {
  return JSON.parse(await rootSh(c.id, `cat ${SECRET_DIR}/${c.profile}.json`)) as PushedJson;
}

/** Every secret value pushed into any container of this file, plus the host's cached ones. */
async function allSecrets(): Promise<string[]> {
  const pushed = await Promise.all(Object.values(containers).map(pushedJson));
  const secrets = new Set([
    ...pushed.flatMap((j) => [j.SecretAccessKey, j.SessionToken]),
    ...(await fx.hostSecrets()),
  ]);
  // Two roles: two secret keys and two session tokens at least, each long enough to be unmistakable.
  expect(secrets.size).toBeGreaterThanOrEqual(4);
  for (const secret of secrets) expect(secret.length).toBeGreaterThanOrEqual(20);
  return [...secrets];
}

/** The secrets found in `haystack` (a string or bytes), reported by position only. */
function leaks(haystack: string | Uint8Array, secrets: readonly string[]): string[] {
  const bytes = Buffer.from(haystack);
  return secrets.filter((s) => bytes.includes(s)).map((s) => `secret #${secrets.indexOf(s)}`);
}

/** Entry names of a tar stream, without a leading "./". */
async function tarEntries(tar: Uint8Array): Promise<string[]> {
  const { stdout } = await execa("tar", ["-t"], { input: tar });
  return stdout.split("\n").map((entry) => entry.replace(/^\.\//, ""));
}

describe("sso-docker run keeps secrets where they belong", () => {
  it("no secret in docker inspect, logs or diff of any container, and no file of sso-docker in diff", async () => {
    const secrets = await allSecrets();
    for (const c of Object.values(containers)) {
      const [inspect, logs, diff] = await Promise.all([
        execa("docker", ["inspect", c.id]),
        execa("docker", ["logs", c.id]),
        execa("docker", ["diff", c.id]),
      ]);
      expect(leaks(inspect.stdout, secrets)).toEqual([]);
      // The container did read its credentials before logging (the helper waited for the push).
      expect(c.firstLine).toBe('{"Version":1,"AccessKeyId":"');
      expect(logs.stdout).toBe(c.firstLine);
      expect(leaks(logs.stdout + logs.stderr, secrets)).toEqual([]);
      // Config, helper and secrets all live on the tmpfs: the writable layer holds none of them.
      expect(diff.stdout.split("\n").filter((line) => line.includes("sso-docker/"))).toEqual([]);
      expect(leaks(diff.stdout, secrets)).toEqual([]);
    }
  });

  it("no secret in docker export, nor in an image committed from the container (save, history, inspect)", async () => {
    const secrets = await allSecrets();
    const { id } = containers["root"]!;
    const exported = await execa("docker", ["export", id], { encoding: "buffer" });
    // The export is the real file system, without the tmpfs: only its empty mount point.
    const entries = await tarEntries(exported.stdout);
    expect(entries.filter((entry) => entry.includes("sso-docker"))).toEqual(["run/sso-docker/"]);
    expect(leaks(exported.stdout, secrets)).toEqual([]);

    await execa("docker", ["commit", id, COMMITTED_IMAGE]);
    const [saved, history, inspect] = await Promise.all([
      execa("docker", ["save", COMMITTED_IMAGE], { encoding: "buffer" }),
      execa("docker", ["history", "--no-trunc", COMMITTED_IMAGE]),
      execa("docker", ["image", "inspect", COMMITTED_IMAGE]),
    ]);
    expect(saved.stdout.length).toBeGreaterThan(1_000_000);
    expect(leaks(saved.stdout, secrets)).toEqual([]);
    expect(leaks(history.stdout, secrets)).toEqual([]);
    expect(leaks(inspect.stdout, secrets)).toEqual([]);
  });

  it("no secret in host process arguments sampled while the runs ran and the agent pushed, nor in their --debug output", async () => {
    const secrets = await allSecrets();
    expect(psSamples.length).toBeGreaterThan(5);
    // The sampler did overlap the agent (which pushed before each container logged its first
    // line, which each run waited for) and docker run.
    expect(psSamples.some((s) => s.includes("main.js --debug agent --detached-child"))).toBe(true);
    expect(psSamples.some((s) => /\brun .*--ipc=host/.test(s))).toBe(true);
    expect(leaks(psSamples.join("\n"), secrets)).toEqual([]);

    expect(debugRun.stderr).toMatch(/^debug: docker run \(/m);
    expect(leaks(debugRun.stdout + debugRun.stderr, secrets)).toEqual([]);
    for (const c of Object.values(containers)) expect(leaks(c.stderr, secrets)).toEqual([]);
    const agentLog = await fx.agentLog();
    expect(agentLog).toMatch(/debug: GetRoleCredentials ReadOnlyAccess@222222222222/);
    expect(leaks(agentLog, secrets)).toEqual([]);
  });

  it.each([
    ["root", "root"],
    ["dev", "-u dev"],
    ["uid", "-u 1000:1000"],
    ["imageUser", "image USER dev"],
  ])("files on tmpfs, owned by the container's user (%s: %s), 0600 in a root 0711 dir", async (key) => {
    const c = containers[key]!;
    const facts = await rootSh(
      c.id,
      `stat -c '%a %u %g %n' ${RUN_DIR} ${SECRET_DIR} ${SECRET_DIR}/*; awk '$2 == "${RUN_DIR}" { print $3 }' /proc/mounts`,
    );
    const ids = `${c.uid} ${c.uid}`;
    expect(facts.split("\n")).toEqual([
      `755 0 0 ${RUN_DIR}`,
      `711 0 0 ${SECRET_DIR}`,
      `600 ${ids} ${SECRET_DIR}/credentials`,
      `600 ${ids} ${SECRET_DIR}/${c.profile}.json`,
      "tmpfs",
    ]);
    // The container's own user reads them (docker exec runs as it); any other user cannot.
    const own = await execa("docker", ["exec", c.id, "cat", `${SECRET_DIR}/${c.profile}.json`], {
      reject: false,
    });
    expect(own.exitCode).toBe(0);
    const other = await execa(
      "docker",
      ["exec", "-u", "65534", c.id, "cat", `${SECRET_DIR}/${c.profile}.json`],
      {
        reject: false,
      },
    );
    expect(other.exitCode).not.toBe(0);
    expect(other.stdout).toBe("");
  });

  it("two containers with different profiles each hold only their own", async () => {
    const ops = containers["root"]!;
    const dev = containers["dev"]!;
    const [devJson, opsJson] = await Promise.all([pushedJson(dev), pushedJson(ops)]);
    expect(devJson.AccessKeyId).not.toBe(opsJson.AccessKeyId);
    for (const [mine, theirs, other] of [
      [dev, opsJson, "ops"],
      [ops, devJson, "dev"],
    ] as const) {
      expect((await rootSh(mine.id, `ls -A ${SECRET_DIR}`)).split("\n")).toEqual([
        "credentials",
        `${mine.profile}.json`,
      ]);
      const everything = await rootSh(mine.id, `cat ${SECRET_DIR}/* ${RUN_CONFIG_PATH}`);
      expect(everything).toContain(`[profile ${mine.profile}]`);
      expect(everything).not.toContain(`[profile ${other}]`);
      expect(everything).not.toContain(`[${other}]`);
      expect(leaks(everything, [theirs.AccessKeyId, theirs.SecretAccessKey, theirs.SessionToken])).toEqual(
        [],
      );
      const label = await execa("docker", [
        "inspect",
        "-f",
        '{{index .Config.Labels "sso-docker.profiles"}}',
        mine.id,
      ]);
      expect(label.stdout).toBe(mine.profile);
    }
  });

  it("no host path is mounted into any container: the tmpfs, and the read-only volume holding config and helper only", async () => {
    const secrets = await allSecrets();
    const volumes = new Set<string>();
    for (const c of Object.values(containers)) {
      const { stdout } = await execa("docker", ["inspect", c.id]);
      const [details] = JSON.parse(stdout) as {
        Mounts: { Type: string; Name: string; Destination: string; RW: boolean }[];
        HostConfig: { Binds: unknown; Tmpfs: Record<string, string> };
      }[];
      expect(details!.Mounts).toHaveLength(1);
      const [volume] = details!.Mounts;
      expect(volume).toMatchObject({ Type: "volume", Destination: RUN_ETC_DIR, RW: false });
      expect(volume!.Name).toMatch(/^sso-docker-profiles-[0-9a-f]{16}$/);
      volumes.add(volume!.Name);
      expect(details!.HostConfig.Binds ?? []).toEqual([]);
      expect(Object.keys(details!.HostConfig.Tmpfs)).toEqual([RUN_DIR]);
    }
    // One volume per profile set (ops; dev), each with the two files and nothing secret.
    expect(volumes.size).toBe(2);
    for (const volume of volumes) {
      const { stdout } = await execa("docker", [
        ...["run", "--rm", "--label", "sso-docker.test=1", "-v", `${volume}:/v:ro`, fx.images.busybox],
        ...["sh", "-c", "ls -A /v; cat /v/*"],
      ]);
      expect(stdout.split("\n").slice(0, 2)).toEqual(["config", "credential-process"]);
      expect(leaks(stdout, secrets)).toEqual([]);
    }
  });

  it("--ipc=host works, with the secrets on the container's tmpfs and nothing in the host's /dev/shm", async () => {
    const c = containers["ipcHost"]!;
    const secrets = await allSecrets();
    expect(await rootSh(c.id, `ls -A ${SECRET_DIR}`)).toBe("credentials\ndev.json");
    expect(await rootSh(c.id, "ls -A /dev/shm | grep -c sso-docker || true")).toBe("0");
    const read = await execa("docker", ["exec", c.id, "sh", RUN_HELPER_PATH, `${SECRET_DIR}/dev.json`]);
    expect(read.stdout).toMatch(/^\{"Version":1,/);
    const after = await readdir("/dev/shm", { recursive: true });
    expect(after.filter((name) => name.includes("sso-docker"))).toEqual([]);
    expect(after.filter((name) => !hostShmBefore.includes(name))).toEqual([]);
    for (const name of after) {
      const content = await readFile(join("/dev/shm", name)).catch(() => Buffer.alloc(0));
      expect(leaks(content, secrets)).toEqual([]);
    }
  });

  it("an image without a shell: a clear error, a non-zero exit, no container, nothing written", async () => {
    const name = `sso-docker-test-${testRunId}-noshell`;
    const result = await fx.run(["--profile", "dev", "--name", name, fx.images.noShell], {
      timeoutMs: 30_000,
    });
    expect(result.stderr).toBe(
      [
        `sso-docker: Image ${fx.images.noShell} has no /bin/sh, so sso-docker run cannot set up AWS credentials in it.`,
        "  next: sso-docker needs a POSIX shell in the container (distroless and scratch images have none): use a variant with one (busybox, -debug, slim).",
      ].join("\n"),
    );
    expect(result.exitCode).toBe(1);
    // Found out from a container that was created, never started, and removed: none is left.
    const left = await execa("docker", [
      ...["ps", "-aq", "--filter", `name=^${name}$`, "--filter", "label=sso-docker.profiles-volume=probe"],
    ]);
    expect(left.stdout).toBe("");
    expect((await execa("docker", ["ps", "-aq", "--filter", `ancestor=${fx.images.noShell}`])).stdout).toBe(
      "",
    );
  });
});
