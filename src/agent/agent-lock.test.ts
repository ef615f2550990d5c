import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agentFiles } from "./agent-files.js";
import { acquireAgentLock, runningAgentPid, type LockOutcome } from "./agent-lock.js";

const HOST = "unix:///unit.sock";
let home: string;
const held: LockOutcome[] = [];

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "sso-docker-lock-"));
});

afterEach(async () => {
  for (const outcome of held.splice(0)) if (outcome.kind === "acquired") await outcome.lock.release();
  await rm(home, { recursive: true, force: true });
});

describe("acquireAgentLock", () => {
  it("two agents starting at once (two `sso-docker run`s): one takes the lock, the other finds it running", async () => {
    const files = agentFiles({}, home, HOST);
    const both = await Promise.all([acquireAgentLock(files, HOST), acquireAgentLock(files, HOST)]);
    held.push(...both);
    expect(both.map((o) => o.kind).sort()).toEqual(["acquired", "running"]);
    expect(await runningAgentPid(files)).toBe(process.pid);
  });

  it("a lock left by a dead agent, its pid file naming it, is taken over", async () => {
    const files = agentFiles({}, home, HOST);
    const first = await acquireAgentLock(files, HOST);
    held.push(first);
    expect(first.kind).toBe("acquired");
    // As a killed agent leaves them: the lock directory, and a pid no process has.
    await writeFile(files.pidFile, JSON.stringify({ pid: 2 ** 22 + 1 }));
    const second = await acquireAgentLock(files, HOST);
    held.push(second);
    expect(second.kind).toBe("acquired");
  });
});
