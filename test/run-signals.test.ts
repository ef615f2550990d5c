import type { ChildProcess } from "node:child_process";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "./cli-support.js";
import { sweepTestContainers, TEST_LABEL, testRunId } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { startRunFixture, type RunFixture } from "./run-support.js";

// Issue 3: signals reach the container as with `docker run`. A signal sent to sso-docker alone
// (a supervisor, `kill`) is passed on; a terminal's Ctrl-C, which the whole foreground process
// group gets, must reach the container once — not twice — so graceful shutdowns stay graceful.

let fx: RunFixture;

beforeAll(async () => {
  fx = await startRunFixture();
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await sweepTestContainers();
  await fx[Symbol.asyncDispose]();
});

// Prints "ready", then counts INT and TERM until one comes, "cleans up" for half a second (a
// duplicated signal would land meanwhile) and reports the counts. Traps, not default actions:
// the shell is the container's PID 1, which ignores signals it has no handler for.
const GRACEFUL = [
  "sh",
  "-c",
  [
    "i=0 t=0",
    "trap 'i=$((i + 1))' INT",
    "trap 't=$((t + 1))' TERM",
    "echo ready",
    'while [ "$i$t" = 00 ]; do sleep 60 & wait $!; done',
    "sleep 0.5",
    'echo "INT $i TERM $t"',
    'if [ "$t" -gt 0 ]; then exit 3; else exit 4; fi',
  ].join("; "),
];

const runArgs = (image: string) => [
  CLI,
  "run",
  "--profile",
  "dev",
  "--rm",
  "--label",
  `${TEST_LABEL}=${testRunId}`,
  image,
  ...GRACEFUL,
];

/** Resolves once the child's stdout has shown `text` (listening only: the result still gets it all). */
function waitForOutput(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.includes(text)) resolve();
    });
    child.once("exit", () => {
      reject(new Error(`the command ended without printing ${text}; it printed: ${seen}`));
    });
  });
}

describe("sso-docker run passes signals on like docker run", () => {
  it.each([
    ["SIGTERM", "INT 0 TERM 1", 3],
    ["SIGINT", "INT 1 TERM 0", 4],
  ] as const)(
    "%s sent to sso-docker reaches the container once; its exit code comes back",
    async (signal, got, code) => {
      const child = execa(process.execPath, runArgs(fx.images.busybox), {
        env: fx.env,
        extendEnv: false,
        stdin: "ignore",
        reject: false,
        timeout: 60_000,
      });
      await waitForOutput(child, "ready");
      child.kill(signal);
      const result = await child;
      expect(result.stdout.split("\n")).toEqual(["ready", got]);
      expect(result.exitCode).toBe(code);
    },
  );

  it("a terminal's Ctrl-C, which docker gets too, reaches the container once", async () => {
    // `script` gives the command a pseudo-terminal; ^C written to it makes the line discipline
    // send SIGINT to the whole foreground process group, sso-docker and docker alike.
    const command = [process.execPath, ...runArgs(fx.images.busybox)].map(
      (a) => `'${a.replaceAll("'", `'\\''`)}'`,
    );
    // bash runs a lone `-c` command with exec, so no extra shell sits between the terminal and
    // sso-docker to turn the Ctrl-C into an exit status of its own.
    const child = execa("script", ["-qefc", command.join(" "), "/dev/null"], {
      env: { ...fx.env, SHELL: "/bin/bash" },
      extendEnv: false,
      stdin: "pipe",
      reject: false,
      timeout: 60_000,
    });
    await waitForOutput(child, "ready");
    child.stdin.write("\x03");
    const result = await child;
    // The terminal echoes the ^C itself.
    expect(result.stdout.replaceAll("\r", "").replace("^C", "").split("\n")).toEqual([
      "ready",
      "INT 1 TERM 0",
    ]);
    expect(result.exitCode).toBe(4);
  });
});
