import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agentFiles } from "./agent-files.js";
import type { AgentFiles } from "./agent-files.js";
import { isStopRequestFor, planAgentStop, requestAgentStop, watchStopRequests } from "./stop-request.js";

describe("planAgentStop", () => {
  it("on Windows relies on the stop request alone (no SIGTERM there) and names taskkill", () => {
    expect(planAgentStop("win32", 4242)).toEqual({ forceCommand: "taskkill /PID 4242 /F" });
  });
  it("elsewhere falls back to SIGTERM for an agent that does not answer, and names kill -9", () => {
    for (const platform of ["linux", "darwin"] as const) {
      expect(planAgentStop(platform, 4242)).toEqual({ signalAfterMs: 5_000, forceCommand: "kill -9 4242" });
    }
  });
});

describe("watchStopRequests", () => {
  let dir: string;
  let files: AgentFiles;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sso-docker-stop-"));
    files = agentFiles({ XDG_STATE_HOME: dir }, "/nonexistent", "unix:///var/run/docker.sock", 1000);
    await mkdir(files.dir, { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolves on a request for its pid and removes it", async () => {
    const watch = watchStopRequests(files, 321, 1_000);
    await requestAgentStop(files, 321, 2_000);
    await watch.requested;
    expect((await readdir(files.dir)).some((name) => name.endsWith(".stop"))).toBe(false);
  });

  it("sees a request written before it began watching", async () => {
    await requestAgentStop(files, 321, 2_000);
    await watchStopRequests(files, 321, 1_000).requested;
  });
});

describe("isStopRequestFor", () => {
  it("accepts only a request naming this pid, made since this agent started", () => {
    const request = (pid: number, requested: number) => JSON.stringify({ pid, requested });
    expect(isStopRequestFor(request(321, 2_000), 321, 1_000)).toBe(true);
    expect(isStopRequestFor(request(999, 2_000), 321, 1_000)).toBe(false); // another agent's
    expect(isStopRequestFor(request(321, 500), 321, 1_000)).toBe(false); // left for a dead agent with this pid
    expect(isStopRequestFor("{", 321, 1_000)).toBe(false);
    expect(isStopRequestFor(JSON.stringify({ pid: 321 }), 321, 1_000)).toBe(false);
  });
});
