import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { getEventListeners } from "node:events";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SSHD, startSshd, type TestSshd } from "../../test/support/remote-engine.js";
import { DockerError } from "../runtime/errors.js";
import { ExecOutputError, ExecTimeoutError } from "./errors.js";
import {
  createDockerEngine,
  type CreateEngineOptions,
  type DockerEngine,
  type DockerEvent,
} from "./engine.js";

// The real engine, reached both ways the client connects, held to one contract: its unix socket,
// and ssh (an sshd on loopback whose sessions talk to that same socket), the way a remote engine
// is reached; with connection sharing (ControlMaster, ControlPersist) as users set it up, which
// also makes each further ssh connection cheap. Every container carries sso-docker.test=1 and
// this file's run id, swept in afterAll.
const IMAGE = "sso-docker-test/busybox:1";
const RUN_ID = randomUUID();
const RUN = `sso-docker.test.run=${RUN_ID}`;
/** The same two labels, for containers the engine client creates. */
const TEST_LABELS = { "sso-docker.test": "1", "sso-docker.test.run": RUN_ID };
const where = { env: process.env, home: process.env["HOME"] ?? "/root" };

const hasSshd = existsSync(SSHD);
if (!hasSshd)
  console.warn(`engine.test: ${SSHD} is missing (apt-get install openssh-server): ssh case skipped`);
let sshd: TestSshd | undefined;

interface Connection {
  /** Where the client is pointed. */
  options: () => CreateEngineOptions;
  /** An address of the same kind where no engine answers, and the message that says so. */
  unreachable: { host: string; message: RegExp };
}

const connections: [string, Connection][] = [
  [
    "a unix socket",
    {
      options: () => where,
      unreachable: {
        host: "unix:///nonexistent/docker.sock",
        message: /^Cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker\.sock\.$/,
      },
    },
  ],
  ...(hasSshd
    ? ([
        [
          "ssh (the user's OpenSSH running docker system dial-stdio)",
          {
            options: () => ({ env: { ...sshd!.env, DOCKER_HOST: sshd!.dockerHost }, home: "/nonexistent" }),
            unreachable: {
              host: "ssh://root@127.0.0.1:1",
              message:
                /^Cannot reach the Docker engine at ssh:\/\/root@127\.0\.0\.1:1: ssh exited with status 255: «ssh: connect to host 127\.0\.0\.1 port 1: Connection refused»\.$/,
            },
          },
        ],
      ] as [string, Connection][])
    : []),
];

async function run(args: readonly string[], cmd: readonly string[] = ["sleep", "600"]): Promise<string> {
  const out = await execa("docker", [
    "run",
    "-d",
    "--label",
    "sso-docker.test=1",
    "--label",
    RUN,
    ...args,
    IMAGE,
    ...cmd,
  ]);
  return out.stdout.trim();
}

const label = ["--label", "sso-docker.test=1", "--label", RUN];
const create = async (cmd: readonly string[]) =>
  (await execa("docker", ["create", ...label, IMAGE, ...cmd])).stdout.trim();

// An image with all three settings `sso-docker run` reads, built from the offline busybox.
const CONFIGURED = `sso-docker-test/engine-configured:${RUN.slice(-12)}`;
const DOCKERFILE = `FROM ${IMAGE}\nUSER dev\nENTRYPOINT ["/bin/echo", "entry"]\nCMD ["a b", "c"]\n`;

// Files for readFile: a regular file, a symlink, a directory, one over a cap, and an image volume.
const FILES = `sso-docker-test/engine-files:${RUN.slice(-12)}`;
const FILES_DOCKERFILE = [
  `FROM ${IMAGE}`,
  "RUN mkdir -p /etc/sso-docker /etc/real /data && echo dev > /etc/sso-docker/profiles && echo real > /etc/real/t && ln -s /etc/real/t /etc/sso-docker/link && ln -s /etc/real /etc/linkdir && head -c 70000 /dev/zero > /etc/big && echo seed > /data/seed",
  "VOLUME /data",
  "",
].join("\n");

let box: string;
let stopped: string;
let created: string;
beforeAll(async () => {
  if (hasSshd) sshd = await startSshd("unix:///var/run/docker.sock", { controlMaster: true });
  await execa("sh", ["docker/images/busybox/build.sh", IMAGE]);
  for (const [tag, input] of [
    [CONFIGURED, DOCKERFILE],
    [FILES, FILES_DOCKERFILE],
  ] as const) {
    await execa("docker", ["build", "-q", "-t", tag, "-"], { input, env: { DOCKER_BUILDKIT: "0" } });
  }
  [box, stopped, created] = await Promise.all([
    run(["--tmpfs", "/run/sso-docker", "--user", "dev", "-e", "A=b=c", "--label", "x.y=z"]),
    run([], ["true"]),
    create(["true"]),
  ]);
});

afterAll(async () => {
  await sshd?.[Symbol.asyncDispose]();
  const ids = (await execa("docker", ["ps", "-aq", "--filter", `label=${RUN}`])).stdout
    .split("\n")
    .filter(Boolean);
  if (ids.length > 0) await execa("docker", ["rm", "-f", ...ids]);
  await execa("docker", ["rmi", CONFIGURED, FILES], { reject: false });
});

/**
 * The error `exec` fails with. A safety net aborts it after 10 s, so that an engine client
 * without limits fails this test with that message instead of reading a flood for ever.
 */
async function guarded(exec: (signal: AbortSignal) => Promise<unknown>): Promise<unknown> {
  const net = new AbortController();
  const rssBefore = process.memoryUsage().rss;
  const timer = setTimeout(() => {
    const grown = Math.round((process.memoryUsage().rss - rssBefore) / 2 ** 20);
    net.abort(new Error(`exec still running after 10 s (RSS grew by ${String(grown)} MB)`));
  }, 10_000);
  try {
    const result = await exec(net.signal);
    return new Error(`exec succeeded: ${JSON.stringify(result).slice(0, 200)}`);
  } catch (error) {
    return error;
  } finally {
    clearTimeout(timer);
  }
}

describe.each(connections)("the engine client over %s, against a real engine", (_name, connection) => {
  let engine: DockerEngine;
  beforeAll(() => {
    engine = createDockerEngine(connection.options());
  });

  it("pings and inspects what delivery needs", async () => {
    await engine.ping();
    const details = await engine.inspectContainer(box);
    expect(details).toMatchObject({
      id: box,
      user: "dev",
      running: true,
      paused: false,
      ipcMode: "private",
      tmpfsTargets: ["/run/sso-docker"],
    });
    expect(details.env["A"]).toBe("b=c");
    // The image's ID, not the name in the config: a name can be moved to another image.
    expect(details.image).toBe((await engine.inspectImage(IMAGE))?.id);
    expect(details.labels["x.y"]).toBe("z");
  });

  it("inspects an image's entrypoint, command and user, and says when there is none", async () => {
    const image = await engine.inspectImage(CONFIGURED);
    expect(image).toMatchObject({ entrypoint: ["/bin/echo", "entry"], cmd: ["a b", "c"], user: "dev" });
    expect(image?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await engine.inspectImage(IMAGE)).toMatchObject({ entrypoint: [], cmd: ["/bin/sh"], user: "" });
    expect(await engine.inspectImage("sso-docker-test/no-such-image:1")).toBeUndefined();
  });

  it("lists containers by label", async () => {
    const all = await engine.listContainers({ labels: [RUN, "x.y=z"], all: true });
    expect(all.map((c) => c.id)).toEqual([box]);
    const withCreated = await engine.listContainers({ labels: [RUN], all: true });
    expect(withCreated.find((c) => c.id === created)?.state).toBe("created");
    const running = await engine.listContainers({ labels: [RUN, "x.y=z"] });
    expect(running.map((c) => [c.id, c.state])).toEqual([[box, "running"]]);
  });

  it("execs with stdin, separate stdout and stderr, and the exit code", async () => {
    const big = "x".repeat(300_000) + "\n";
    const request = { cmd: ["cat"], user: "0:0", stdin: big, maxOutputBytes: big.length };
    expect(await engine.exec(box, request)).toEqual({
      exitCode: 0,
      stdout: big,
      stderr: "",
    });
    const script = "echo out; id -u; echo oops >&2; exit 7\n";
    const result = await engine.exec(box, { cmd: ["/bin/sh", "-s"], user: "0:0", stdin: script });
    expect(result).toEqual({ exitCode: 7, stdout: "out\n0\n", stderr: "oops\n" });
    const plain = await engine.exec(box, { cmd: ["id", "-u"], user: "dev", env: ["X=1"] });
    expect(plain).toEqual({ exitCode: 0, stdout: "1000\n", stderr: "" });
  });

  it("leaves no abort listener behind on a signal shared by many execs (one per refresh in a long run)", async () => {
    const { signal } = new AbortController();
    for (let i = 0; i < 12; i++) await engine.exec(box, { cmd: ["true"], user: "0:0", stdin: "", signal });
    expect(getEventListeners(signal, "abort")).toEqual([]);
  });

  it("ends an exec that outlives its time limit with an ExecTimeoutError naming the container", async () => {
    const t0 = performance.now();
    const error = await guarded((signal) =>
      engine.exec(box, { cmd: ["sleep", "3600"], user: "0:0", timeoutMs: 1000, signal }),
    );
    const elapsed = performance.now() - t0;
    expect(ExecTimeoutError.is(error), String(error)).toBe(true);
    expect(error).toBeInstanceOf(DockerError);
    expect((error as Error).message).toContain(`container ${box.slice(0, 12)} did not finish within 1 s`);
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(2500);
  });

  it("stops reading at the output cap with an ExecOutputError, holding no more than the cap", async () => {
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const flood = await guarded((signal) =>
      engine.exec(box, { cmd: ["cat", "/dev/zero"], user: "0:0", maxOutputBytes: 65536, signal }),
    );
    const elapsed = performance.now() - t0;
    const growthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    expect(ExecOutputError.is(flood), String(flood)).toBe(true);
    expect((flood as Error).message).toContain(
      `container ${box.slice(0, 12)} wrote more than 64 KiB on stdout`,
    );
    expect(elapsed).toBeLessThan(2000);
    expect(growthMb).toBeLessThan(50);
    const onStderr = await guarded((signal) =>
      engine.exec(box, { cmd: ["sh", "-c", "cat /dev/zero >&2"], user: "0:0", maxOutputBytes: 1000, signal }),
    );
    expect((onStderr as Error).message).toContain("wrote more than 1000 bytes on stderr");
  });

  it("applies a 64 KiB cap per stream when the caller names none", async () => {
    const exact = await engine.exec(box, { cmd: ["head", "-c", "65536", "/dev/zero"], user: "0:0" });
    expect(exact.stdout.length).toBe(65536);
    const over = await guarded((signal) =>
      engine.exec(box, { cmd: ["head", "-c", "65537", "/dev/zero"], user: "0:0", signal }),
    );
    expect(ExecOutputError.is(over), String(over)).toBe(true);
  });

  it("reads a file of a never-started container through the archive API, and says when it is absent", async () => {
    const id = await engine.createContainer({ image: FILES, labels: TEST_LABELS });
    const read = (path: string, maxBytes = 1024) => engine.readFile(id, path, { maxBytes });
    expect((await read("/etc/sso-docker/profiles"))?.toString()).toBe("dev\n");
    // A directory above the file that is a link resolves inside the container's root.
    expect((await read("/etc/linkdir/t"))?.toString()).toBe("real\n");
    expect((await read("/etc/big", 70_000))?.length).toBe(70_000);
    expect(await read("/etc/sso-docker/none")).toBeUndefined();
    expect(await read("/nowhere/at/all")).toBeUndefined();
    expect((await engine.listContainers({ labels: [RUN], all: true })).find((c) => c.id === id)?.state).toBe(
      "created",
    );
    await engine.removeContainer(id);
    await expect(read("/etc/sso-docker/profiles")).rejects.toThrow(`No such container: ${id}.`);
  });

  it("reads a running container's file too", async () => {
    const passwd = await engine.readFile(box, "/etc/passwd", { maxBytes: 4096 });
    expect(passwd?.toString()).toContain("dev:x:1000:1000:");
  });

  it("refuses a symbolic link at the path (the engine sends the link, not its target), a directory, and a file over the cap", async () => {
    const id = await engine.createContainer({ image: FILES, labels: TEST_LABELS });
    try {
      const read = (path: string, maxBytes = 65_536) => engine.readFile(id, path, { maxBytes });
      await expect(read("/etc/sso-docker/link")).rejects.toThrow(
        "/etc/sso-docker/link is a symbolic link (to «/etc/real/t»), not a regular file.",
      );
      await expect(read("/etc/linkdir")).rejects.toThrow("/etc/linkdir is a symbolic link (to «/etc/real»)");
      await expect(read("/etc/sso-docker")).rejects.toThrow(
        "/etc/sso-docker is a directory, not a regular file.",
      );
      await expect(read("/etc/big")).rejects.toThrow("/etc/big is 70000 bytes, over the limit of 65536.");
    } finally {
      await engine.removeContainer(id);
    }
  });

  it("removes a never-started container with the anonymous volume its image's VOLUME gave it", async () => {
    const id = await engine.createContainer({ image: FILES, labels: TEST_LABELS });
    const mounts = (
      await execa("docker", ["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", id])
    ).stdout.trim();
    expect(mounts).toMatch(/^[0-9a-f]{64}$/);
    await engine.removeContainer(id);
    const gone = await execa("docker", ["volume", "inspect", mounts], { reject: false });
    expect(gone.exitCode, `volume ${mounts} outlived its container`).not.toBe(0);
  });

  it("streams container events, replaying from `since`, until aborted", async () => {
    const controller = new AbortController();
    const idPromise = run([], ["true"]);
    let started: DockerEvent | undefined;
    const options = {
      since: Date.now(),
      filters: { type: ["container"], label: [RUN] },
      signal: controller.signal,
    };
    for await (const event of engine.events(options)) {
      if (event.action === "start" && event.id === (await idPromise)) {
        started = event;
        controller.abort();
      }
    }
    expect(started).toMatchObject({ type: "container", attributes: { "sso-docker.test": "1" } });
    expect(started?.time).toBeGreaterThan(Date.now() - 60_000);
  });

  it("gives a DockerError naming the container or the engine", async () => {
    await expect(engine.inspectContainer("sso-docker-no-such-thing")).rejects.toThrow(
      "No such container: sso-docker-no-such-thing.",
    );
    await execa("docker", ["wait", stopped]);
    await expect(engine.exec(stopped, { cmd: ["true"], user: "0" })).rejects.toThrow(/is not running/);
    const { env, home } = connection.options();
    const nowhere = createDockerEngine({ env: { ...env, DOCKER_HOST: connection.unreachable.host }, home });
    const error = await nowhere.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerError);
    expect((error as DockerError).message).toMatch(connection.unreachable.message);
  });
});
