import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerEngine } from "../src/docker/engine.js";
import { ExecTimeoutError } from "../src/docker/errors.js";
import type { ProcessSocket } from "../src/docker/process-socket.js";
import { SshConnectionPool } from "../src/docker/ssh-dialer.js";
import { DockerError } from "../src/runtime/errors.js";
import { TEST_LABEL, testRunId } from "./support/docker.js";
import { SSHD, startSshd, waitForOutput, type TestSshd } from "./support/remote-engine.js";

// The ssh connection of the engine client against the real engine, through an sshd on loopback
// whose sessions talk to /var/run/docker.sock: the user's OpenSSH setup is what reaches it
// (ProxyJump), the ssh processes do not outlive their connections or the process, and when ssh
// cannot be run or gives up the message says why, with ssh's words quoted and bounded. The
// contract itself (exec limits, files, events, …) runs over ssh in src/docker/engine.test.ts.

/** The built client (`npm run build`), for a process of its own. */
const BUILT_ENGINE = fileURLToPath(new URL("../dist/docker/engine.js", import.meta.url));
const IMAGE = "sso-docker-test/busybox:1";
const hasSshd = existsSync(SSHD);
if (!hasSshd) console.warn(`ssh-engine: ${SSHD} is missing (apt-get install openssh-server): skipped`);

let sshd: TestSshd;
let scratch: string;
let box: string;

beforeAll(async () => {
  if (!hasSshd) return;
  sshd = await startSshd("unix:///var/run/docker.sock");
  scratch = await mkdtemp(join(tmpdir(), "sso-docker-ssh-engine-"));
  box = (
    await execa("docker", ["run", "-d", "--label", `${TEST_LABEL}=${testRunId}`, IMAGE, "sleep", "600"])
  ).stdout.trim();
});

afterAll(async () => {
  if (!hasSshd) return;
  await execa("docker", ["rm", "-f", box], { reject: false });
  await sshd[Symbol.asyncDispose]();
  await rm(scratch, { recursive: true, force: true });
});

/** The ssh processes the test's wrapper started that are still running (their args name its config). */
async function liveSsh(): Promise<number[]> {
  const found = await execa("pgrep", ["-f", `/usr/bin/ssh -F ${sshd.configFile}`], { reject: false });
  return found.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map(Number);
}

/**
 * The ssh processes started since `before` once at most `atMost` are left, or after 5 s those
 * left: a killed ssh takes a moment to exit.
 */
async function sshSettlesAt(before: readonly number[], atMost: number): Promise<number[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const left = (await liveSsh()).filter((pid) => !before.includes(pid));
    if (left.length <= atMost || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A directory holding only an `ssh` that runs `script`, to stand in for a failing ssh. */
async function fakeSshDir(name: string, script: string): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir);
  await writeFile(join(dir, "ssh"), `#!/bin/sh\n${script}\n`);
  await chmod(join(dir, "ssh"), 0o755);
  return dir;
}

async function pingError(env: Record<string, string>): Promise<DockerError> {
  const error = await createDockerEngine({ env, home: "/nonexistent" })
    .ping()
    .then(
      () => new Error("ping succeeded"),
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(DockerError);
  return error as DockerError;
}

describe.skipIf(!hasSshd)("the engine client over ssh", () => {
  it("reaches the engine through a ProxyJump alias of the user's ssh config", async () => {
    const engine = createDockerEngine({
      env: { PATH: sshd.env["PATH"]!, DOCKER_HOST: sshd.jumpHost },
      home: "/nonexistent",
    });
    await engine.ping();
    const listed = await engine.listContainers({ labels: [`${TEST_LABEL}=${testRunId}`] });
    expect(listed.map((c) => c.id)).toEqual([box]);
  });

  it("kills the ssh of an abandoned exec and of an aborted event stream, keeping at most two idle ones", async () => {
    const before = await liveSsh();
    const engine = createDockerEngine({ env: { ...sshd.env, DOCKER_HOST: sshd.dockerHost }, home: "/x" });
    // Each exec stream is an ssh of its own; a hung one stays connected until it is killed.
    const hung = Array.from({ length: 3 }, () =>
      engine.exec(box, { cmd: ["sleep", "3600"], user: "0", timeoutMs: 1000 }).then(
        () => "finished",
        (error: unknown) => (ExecTimeoutError.is(error) ? "abandoned" : String(error)),
      ),
    );
    expect(await Promise.all(hung)).toEqual(["abandoned", "abandoned", "abandoned"]);
    const controller = new AbortController();
    const events = engine.events({
      signal: controller.signal,
      onOpen: () => {
        controller.abort();
      },
    });
    for await (const event of events) throw new Error(`no event expected: ${JSON.stringify(event)}`);
    const left = await sshSettlesAt(before, 2);
    expect(left.length, `ssh processes still running: ${left.join(" ")}`).toBeLessThanOrEqual(2);
  });

  it("ends an idle pooled ssh after the idle time", async () => {
    const pool = new SshConnectionPool(
      { address: sshd.dockerHost, host: "127.0.0.1", user: "root", port: new URL(sshd.dockerHost).port },
      sshd.env,
      { idleMs: 300 },
    );
    const { status, socket } = await new Promise<{ status: number | undefined; socket: ProcessSocket }>(
      (resolve, reject) => {
        const req = request({ agent: pool, host: "docker", path: "/_ping" }, (res) => {
          res.resume();
          res.once("end", () => {
            resolve({ status: res.statusCode, socket: req.socket as unknown as ProcessSocket });
          });
        });
        req.once("error", reject);
        req.end();
      },
    );
    expect(status).toBe(200);
    const idleSince = performance.now();
    const closed = await Promise.race([
      new Promise<boolean>((resolve) =>
        socket.once("close", () => {
          resolve(true);
        }),
      ),
      new Promise<boolean>((resolve) =>
        setTimeout(() => {
          resolve(false);
        }, 5000),
      ),
    ]);
    expect(closed, "the idle connection still open after 5 s").toBe(true);
    expect(performance.now() - idleSince).toBeGreaterThanOrEqual(290);
    const gone = await execa("sh", ["-c", `while kill -0 ${socket.pid} 2>/dev/null; do sleep 0.05; done`], {
      timeout: 5000,
      reject: false,
    });
    expect(gone.timedOut, `ssh ${socket.pid} still running 5 s after its connection closed`).toBe(false);
  });

  it("keeps an event stream that waits past the idle time: only idle pooled connections end", async () => {
    const pool = new SshConnectionPool(
      { address: sshd.dockerHost, host: "127.0.0.1", user: "root", port: new URL(sshd.dockerHost).port },
      sshd.env,
      { idleMs: 300 },
    );
    const marker = `sso-docker.test.idle=${testRunId}`;
    const filters = encodeURIComponent(JSON.stringify({ type: ["container"], label: [marker] }));
    const req = request({ agent: pool, host: "docker", path: `/events?filters=${filters}` });
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        req.once("response", resolve);
        req.once("error", reject);
        req.end();
      });
      expect(res.statusCode).toBe(200);
      let seen = "";
      const created = new Promise<void>((resolve, reject) => {
        res.on("data", (chunk: Buffer) => {
          seen += chunk.toString("utf8");
          if (seen.includes('"create"')) resolve();
        });
        res.once("close", () => {
          reject(new Error(`the event stream closed; it had sent: ${seen}`));
        });
      });
      // Quiet for three idle times: the engine sends nothing on this stream meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const id = (
        await execa("docker", ["create", "--label", `${TEST_LABEL}=${testRunId}`, "--label", marker, IMAGE])
      ).stdout.trim();
      try {
        await created;
      } finally {
        await execa("docker", ["rm", "-f", id]);
      }
    } finally {
      req.destroy();
    }
  });

  it("lets a process end with idle connections pooled, and leaves no ssh behind", async () => {
    // Built code in a process of its own: ping, an exec and an event stream, then nothing; it
    // must end on its own (the pool's idle ssh processes hold it up for no longer).
    const script = `
      import { createDockerEngine } from ${JSON.stringify(BUILT_ENGINE)};
      const engine = createDockerEngine({ env: process.env, home: "/nonexistent" });
      await engine.ping();
      await engine.exec(${JSON.stringify(box)}, { cmd: ["true"], user: "0", stdin: "" });
      const controller = new AbortController();
      for await (const _ of engine.events({ since: Date.now() - 1, signal: controller.signal, onOpen: () => controller.abort() }));
      await engine.listContainers();
      console.log("done " + Date.now());
    `;
    const before = await liveSsh();
    const child = await execa(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...sshd.env, DOCKER_HOST: sshd.dockerHost },
      extendEnv: false,
      timeout: 25_000,
      reject: false,
    });
    const exitedAt = Date.now();
    expect({ exitCode: child.exitCode, stderr: child.stderr, timedOut: child.timedOut }).toEqual({
      exitCode: 0,
      stderr: "",
      timedOut: false,
    });
    const doneAt = Number(/^done (\d+)$/m.exec(child.stdout)?.[1]);
    expect(exitedAt - doneAt, "ms from its last request to its exit").toBeLessThan(3000);
    // Its ssh processes see their stdin close with it, and end.
    expect(await sshSettlesAt(before, 0), "ssh processes that outlived it by 5 s").toEqual([]);
  });

  it("keeps its ssh connections through a terminal's Ctrl-C, which is the process's to handle", async () => {
    // A process in its own group, as a shell runs a command; SIGINT to the whole group is what a
    // terminal's Ctrl-C sends. The process handles it; the event stream's ssh must not die of it.
    const marker = `sso-docker.test.sigint=${testRunId}`;
    const script = `
      import { createDockerEngine } from ${JSON.stringify(BUILT_ENGINE)};
      const engine = createDockerEngine({ env: process.env, home: "/nonexistent" });
      process.on("SIGINT", () => console.log("sigint"));
      const filters = { type: ["container"], label: [${JSON.stringify(marker)}] };
      try {
        for await (const event of engine.events({ filters, onOpen: () => console.log("open") })) {
          console.log("event " + event.action);
          process.exit(0);
        }
        console.log("the stream ended");
      } catch (error) {
        console.log("the stream failed: " + error.message);
      }
      process.exit(1);
    `;
    const child = execa(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...sshd.env, DOCKER_HOST: sshd.dockerHost },
      extendEnv: false,
      detached: true,
      timeout: 30_000,
      reject: false,
    });
    await waitForOutput(child, /^open$/m, "events over ssh", 20_000);
    process.kill(-child.pid!, "SIGINT");
    await waitForOutput(child, /^sigint$/m, "the SIGINT handler", 5000);
    const id = (
      await execa("docker", ["create", "--label", `${TEST_LABEL}=${testRunId}`, "--label", marker, IMAGE])
    ).stdout.trim();
    try {
      const result = await child;
      expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({
        exitCode: 0,
        stdout: "open\nsigint\nevent create",
      });
    } finally {
      await execa("docker", ["rm", "-f", id]);
    }
  });

  it("says when there is no ssh on PATH, and what to install", async () => {
    const empty = join(scratch, "no-ssh");
    await mkdir(empty);
    const error = await pingError({ PATH: empty, DOCKER_HOST: sshd.aliasHost });
    expect(error.message).toBe(
      `Cannot reach the Docker engine at ${sshd.aliasHost}: there is no \`ssh\` command on PATH.`,
    );
    expect(error.hint).toMatch(/apt-get install openssh-client/);
  });

  it("says when ssh gives up, quoting what it said, and what to try by hand", async () => {
    // No ssh agent: ssh://root@127.0.0.1:PORT has no key file in the config, so ssh is refused.
    const port = new URL(sshd.dockerHost).port;
    const error = await pingError({ PATH: sshd.env["PATH"]!, DOCKER_HOST: sshd.dockerHost });
    expect(error.message).toBe(
      `Cannot reach the Docker engine at ${sshd.dockerHost}: ssh exited with status 255: «root@127.0.0.1: Permission denied (publickey).».`,
    );
    expect(error.hint).toContain(`\`ssh -l root -p ${port} 127.0.0.1 docker version\``);
  });

  it("bounds and escapes what a failing ssh prints: one line, no terminal escapes, its last words kept", async () => {
    const dir = await fakeSshDir(
      "noisy-ssh",
      [
        "/usr/bin/head -c 200000 /dev/zero | /usr/bin/tr '\\0' '@' >&2",
        `printf '\\n\\033[2Jsign-in needed: open http://evil.example\\n' >&2`,
        "echo 'Host key verification failed.' >&2",
        "exit 255",
      ].join("\n"),
    );
    const error = await pingError({ PATH: dir, DOCKER_HOST: "ssh://build-box" });
    expect(error.message).toMatch(
      /^Cannot reach the Docker engine at ssh:\/\/build-box: ssh exited with status 255: «…@+\\n\\x1b\[2Jsign-in needed: open http:\/\/evil\.example\\nHost key verification failed\.»\.$/,
    );
    expect(error.message).not.toContain("\n");
    expect(error.message).not.toContain("\u001b");
    expect(error.message.length).toBeLessThan(400);
  });

  it("refuses a host that ssh would read as an option, before running anything", async () => {
    const marker = join(scratch, "ran");
    const dir = await fakeSshDir("marker-ssh", `/usr/bin/touch ${marker}; exit 1`);
    for (const host of ["ssh://-oProxyCommand=touch%20x", "ssh://%2DoProxyCommand=x", "ssh://me%20-x@box"]) {
      expect(() => createDockerEngine({ env: { PATH: dir, DOCKER_HOST: host }, home: "/x" })).toThrow(
        DockerError,
      );
    }
    // The same fake ssh does run for an address it may have.
    expect(existsSync(marker)).toBe(false);
    await pingError({ PATH: dir, DOCKER_HOST: "ssh://box" });
    expect(await readFile(marker, "utf8")).toBe("");
  });
});
