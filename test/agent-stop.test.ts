import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { agentFiles } from "../src/agent/agent-files.js";
import type { AgentFiles } from "../src/agent/agent-files.js";
import { isAlive } from "../src/agent/agent-lock.js";
import type { AgentStateFile } from "../src/agent/agent-state.js";
import { requestAgentStop } from "../src/agent/stop-request.js";
import { assertBuilt, cliEnv, createHome, runCli } from "./cli-support.js";

// `agent stop` without POSIX signals (Windows has none to send): the stop request, for real on
// Linux, where the same code runs. The agent must leave as on SIGTERM: final state, lock released.
beforeAll(() => {
  assertBuilt();
});

const ENGINE = "unix:///var/run/docker.sock";

async function startAgent(env: Record<string, string>): Promise<number> {
  const started = await runCli(["agent", "--detach"], env);
  expect(started.exitCode, started.stderr).toBe(0);
  const pid = Number(/\(pid (\d+)\)/.exec(started.stdout)?.[1]);
  expect(isAlive(pid)).toBe(true);
  return pid;
}

/** The agent is not this process's child, so no exit event reaches us: a bounded look. */
async function waitForExit(pid: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > end)
      throw new Error(`agent pid ${pid} still running ${ms} ms after it was asked to stop`);
    await sleep(25);
  }
}

async function expectCleanStop(files: AgentFiles, pid: number): Promise<void> {
  const state = JSON.parse(await readFile(files.stateFile, "utf8")) as AgentStateFile;
  expect(state.pid).toBe(pid);
  expect(state.stopped, "the final state names the stop").toBeDefined();
  expect(existsSync(files.pidFile), "pid file removed").toBe(false);
  expect(existsSync(`${files.pidFile}.lock`), "lock released").toBe(false);
  expect(existsSync(files.stopFile), "request consumed").toBe(false);
  expect(await readFile(files.logFile, "utf8")).toContain(
    "agent stopping as asked by `sso-docker agent stop`",
  );
}

describe("agent stop without signals", () => {
  it("stops an agent that is sent no signal at all: the request alone, as on Windows", async () => {
    await using home = await createHome();
    const env = cliEnv(home);
    const files = agentFiles(env, home.home, ENGINE);
    const pid = await startAgent(env);
    try {
      await requestAgentStop(files, pid);
      await waitForExit(pid, 5_000);
    } finally {
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    }
    await expectCleanStop(files, pid);
    // A later agent is not stopped by anything left behind, and starts as usual.
    const next = await startAgent(env);
    expect((await runCli(["agent", "stop"], env)).stdout).toContain(
      `Stopped the sso-docker agent for ${ENGINE} (pid ${next})`,
    );
  });

  it("`sso-docker agent stop` asks through the request, so the agent writes its state and releases its lock", async () => {
    await using home = await createHome();
    const env = cliEnv(home);
    const files = agentFiles(env, home.home, ENGINE);
    const pid = await startAgent(env);
    let stopped;
    try {
      stopped = await runCli(["agent", "stop"], env);
    } finally {
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    }
    expect(stopped.stdout).toContain(`Stopped the sso-docker agent for ${ENGINE} (pid ${pid})`);
    await expectCleanStop(files, pid);
  });
});
