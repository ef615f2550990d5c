import { describe, expect, it } from "vitest";
import { runCli } from "./cli-support.js";
import { IDLE_COMMAND } from "./support/docker.js";
import { processesOfHome, pushedCredentials, runFixtureForFile } from "./run-support.js";

// Acceptance 2 of issue 10: `sso-docker run` makes sure the agent for its engine runs, starting it
// in the background when there is none and saying so once, with how to see it and how to end
// it; a run that finds it running reuses it; one agent per engine and user, however many runs
// start at once. Each test HOME has its own agent, which the fixture stops.

const fixture = runFixtureForFile();

const NOTICE =
  /^sso-docker: started the agent for (\S+) \(pid (\d+)\), which puts credentials in this engine's containers and keeps them fresh; `sso-docker status` shows it, `sso-docker agent stop` ends it\.$/;

/** The fixture HOME's agents: node processes running `sso-docker agent`. */
async function agentProcesses(): Promise<number[]> {
  return (await processesOfHome(fixture().home.home))
    .filter((p) => p.args.includes("agent") && p.args.includes("--detached-child"))
    .map((p) => p.pid);
}

describe("sso-docker run and the agent", () => {
  it("two runs at once with no agent start one, and one of them says so; a later run reuses it silently", async () => {
    const fx = fixture();
    expect(await fx.agentPid()).toBeUndefined();
    const { busybox } = fx.images;
    const both = await Promise.all([
      fx.run(["--profile", "dev", "--rm", busybox, "true"]),
      fx.run(["--profile", "ops", "--rm", busybox, "true"]),
    ]);
    expect(both.map((r) => r.exitCode)).toEqual([0, 0]);
    const said = both.map((r) => r.stderr).filter((stderr) => stderr !== "");
    expect(said).toHaveLength(1);
    const notice = NOTICE.exec(said[0] ?? "");
    expect(notice?.[1]).toBe("unix:///var/run/docker.sock");
    const pid = Number(notice?.[2]);
    expect(await fx.agentPid(), await fx.agentLog()).toBe(pid);
    expect(await agentProcesses(), await fx.agentLog()).toEqual([pid]);

    const later = await fx.run(["--profile", "dev", "-d", busybox, ...IDLE_COMMAND]);
    expect([later.exitCode, later.stderr]).toEqual([0, ""]);
    expect(await fx.agentPid()).toBe(pid);
    expect(await agentProcesses()).toEqual([pid]);
    // That agent supplied the container, and `status` shows it.
    expect((await pushedCredentials(later.stdout, "dev")).AccessKeyId).toMatch(/^ASIA/);
    const status = await runCli(["status", "--json"], fx.env);
    expect((JSON.parse(status.stdout) as { agent: unknown }).agent).toMatchObject({ running: true, pid });
  });

  it("after `sso-docker agent stop`, the next run starts a new agent and says so again", async () => {
    const fx = fixture();
    const before = await fx.agentPid();
    expect(before).toBeDefined();
    const stop = await runCli(["agent", "stop"], fx.env);
    expect(stop.stdout).toBe(`Stopped the sso-docker agent for unix:///var/run/docker.sock (pid ${before}).`);
    expect(await agentProcesses()).toEqual([]);

    const run = await fx.run(["--profile", "dev", "-d", fx.images.busybox, ...IDLE_COMMAND]);
    expect(run.exitCode, run.stderr).toBe(0);
    const pid = Number(NOTICE.exec(run.stderr)?.[2]);
    expect(pid).not.toBe(before);
    expect(await agentProcesses()).toEqual([pid]);
    expect((await pushedCredentials(run.stdout, "dev")).AccessKeyId).toMatch(/^ASIA/);
  });
});
