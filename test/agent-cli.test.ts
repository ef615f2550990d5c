import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../src/agent/agent-lock.js";
import type { StatusReport } from "../src/agent/status-report.js";
import { assertBuilt, cliEnv, createHome, runCli } from "./cli-support.js";

// The built CLI as a user runs it: one background agent per engine and user, status, stop.
beforeAll(() => {
  assertBuilt();
});

describe("sso-docker agent --detach / status / agent stop", () => {
  it("runs one background agent per engine, reports it, and stops it", async () => {
    await using home = await createHome();
    const env = cliEnv(home);
    const started = await runCli(["agent", "--detach"], env);
    expect(started.exitCode, started.stderr).toBe(0);
    const pid = Number(/\(pid (\d+)\)/.exec(started.stdout)?.[1]);
    expect(isAlive(pid)).toBe(true);
    try {
      const second = await runCli(["agent", "--detach"], env);
      expect(second.exitCode).toBe(0);
      expect(second.stdout).toContain(`already running for unix:///var/run/docker.sock (pid ${pid})`);
      const foreground = await runCli(["agent"], env);
      expect(foreground.exitCode).toBe(1);
      expect(foreground.stderr).toContain(`already running`);

      const status = await runCli(["status", "--json"], env);
      expect(status.exitCode, status.stderr).toBe(0);
      const report = JSON.parse(status.stdout) as StatusReport;
      expect(report.agent).toMatchObject({ running: true, pid, engine: "unix:///var/run/docker.sock" });
      expect(report.sessions).toEqual([]);
      expect((await runCli(["status"], env)).stdout).toContain(`Agent: running (pid ${pid})`);
      expect(await readFile(report.agent.logFile, "utf8")).toContain(`agent following the Docker engine`);
    } finally {
      const stopped = await runCli(["agent", "stop"], env);
      expect(stopped.stdout).toContain(`Stopped the sso-docker agent`);
    }
    expect(isAlive(pid)).toBe(false);
    const after = JSON.parse((await runCli(["status", "--json"], env)).stdout) as StatusReport;
    expect(after.agent.running).toBe(false);
    expect((await runCli(["agent", "stop"], env)).stdout).toContain("No sso-docker agent is running");
  });
});
