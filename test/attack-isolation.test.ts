import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentEventName, AgentEvents } from "../src/agent/agent-events.js";
import type { AgentHandle } from "../src/agent/agent.js";
import { startAgent } from "../src/agent/agent.js";
import { SHM_SECRET_DIR } from "../src/delivery/paths.js";
import { createDockerEngine } from "../src/docker/engine.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import type { Deps } from "../src/runtime/deps.js";
import { signIn } from "./cli-support.js";
import { createAgentEventLog } from "./support/agent-events.js";
import type { TestContainer } from "./support/docker.js";
import { grantLabels } from "./support/grant.js";
import { startContainer, sweepTestContainersAfterAll } from "./support/docker.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome, ssoProfileConfig } from "./support/host.js";
import { agentTestDeps } from "./support/in-process-agent.js";
import { ensureTestImages } from "./support/images.js";

// Issue 9, finding 4 (design invariant 9): ten containers whose push never returns and one that
// floods its output, beside one well-behaved container, all of one role with 30-s credentials
// (a refresh round every ~15 s). The good one must keep getting fresh credentials on time, and
// the agent's memory must stay put. The profile is "iso-app": no other test file's agent
// serves it, and this agent serves no other file's containers.
sweepTestContainersAfterAll();

const SESSION = "iso-sso";
const PROFILE = "iso-app";
const LIFETIME_MS = 30_000;
/** The refresh window of 30-s credentials: min(20 min, L/2). */
const WINDOW_MS = LIFETIME_MS / 2;
const HUNG = 10;
/** Enough for a hung container's second time limit to pass (the first ends 20 s into round 1). */
const ROUNDS = 4;
/**
 * Growth of the agent's RSS (it runs in this process) allowed over the whole file. The flooding
 * container writes ~40 MB/s into an exec that is read without a cap (measured with the old
 * client: +208 MB in 5 s), so this is crossed within seconds of one uncapped push; with the cap
 * each exec holds at most 64 KiB per stream, and what else grows (logs, event history, AWS SDK
 * objects) stays within a few tens of MB.
 */
const RSS_BUDGET_MB = 100;

let idc: FakeIdc;
let home: TestHome;
let deps: Deps;
let agent: AgentHandle | undefined;
let good: TestContainer;
let hung: TestContainer[];
let flood: TestContainer;
const direct = createDockerEngine({ env: {}, home: "/nonexistent" });
const logs: string[] = [];
const events = createAgentEventLog(logs);
const { history, waitFor } = events;
const rss = { baseline: 0, peak: 0, timer: undefined as NodeJS.Timeout | undefined };

/** The container's pushed JSON, read as its user; undefined before the first push. */
async function readPushed(
  c: TestContainer,
): Promise<{ AccessKeyId: string; Expiration: string } | undefined> {
  const out = await direct.exec(c.id, { cmd: ["cat", `${SHM_SECRET_DIR}/${PROFILE}.json`], user: "dev" });
  return out.exitCode === 0
    ? (JSON.parse(out.stdout) as { AccessKeyId: string; Expiration: string })
    : undefined;
}

/**
 * As root in the container, replaces /bin/sh, which every push runs (`/bin/sh -s`), with a
 * script running busybox `command`. (Replacing /bin/mv would not do: busybox's sh runs its own
 * applets without looking at PATH.)
 */
async function plantShell(c: TestContainer, command: string): Promise<void> {
  const script = `rm /bin/sh && printf '#!/bin/busybox sh\nexec /bin/busybox ${command}\n' > /bin/sh && chmod 755 /bin/sh`;
  const out = await c.exec(["/bin/busybox", "sh", "-c", script], { user: "0" });
  expect(out.exitCode, out.stderr).toBe(0);
}

async function start(): Promise<AgentHandle> {
  const started = await startAgent(deps, { openBrowser: false });
  const names: AgentEventName[] = ["pushed", "pushFailed", "refreshed", "reconciled"];
  events.attach(started, names);
  return started;
}

const pushesTo = (c: TestContainer, from: number, reason?: string) =>
  history
    .slice(from)
    .filter((h) => h.name === "pushed")
    .map((h) => h.event as AgentEvents["pushed"])
    .filter((e) => e.containerId === c.id && (reason === undefined || e.reason === reason));

beforeAll(async () => {
  const { busybox } = await ensureTestImages();
  idc = await startFakeIdc({ lifetimes: { roleCredentialSeconds: LIFETIME_MS / 1000 } });
  home = await makeTestHome({
    config: ssoProfileConfig({ profile: PROFILE, session: SESSION, startUrl: idc.startUrl }),
    endpointEnv: idc.endpointEnv(),
  });
  deps = agentTestDeps(home, logs);
  await signIn(deps.paths, idc, SESSION);
  // The good one first: the engine lists the newest first, so a reconcile reaches it last.
  const labelled = { user: "dev", labels: await grantLabels(home.home, PROFILE, home.env) };
  good = await startContainer(busybox, labelled);
  hung = await Promise.all(Array.from({ length: HUNG }, () => startContainer(busybox, labelled)));
  flood = await startContainer(busybox, labelled);
  // What the agent loads on its first fetch, loaded now, so the baseline holds it.
  await Promise.all([import("@aws-sdk/client-sso"), import("proper-lockfile")]);
  rss.baseline = process.memoryUsage().rss;
  rss.peak = rss.baseline;
  rss.timer = setInterval(() => {
    rss.peak = Math.max(rss.peak, process.memoryUsage().rss);
  }, 100);
}, 120_000);

afterAll(async () => {
  clearInterval(rss.timer);
  const grown = (rss.peak - rss.baseline) / 2 ** 20;
  console.info(`isolation: agent RSS peak ${grown.toFixed(1)} MB over the baseline, over the whole file`);
  if (process.env["AGENT_TEST_LOG"]) console.info(logs.join("\n"));
  await agent?.stop();
  await idc.close();
  await home[Symbol.asyncDispose]();
});

describe("one hung or flooding container cannot stall the agent for the others", () => {
  it(`keeps refreshing a good container on time beside ${String(HUNG)} hung containers and a flooding one`, async () => {
    agent = await start();
    await agent.ready;
    const first = pushesTo(good, 0).at(-1);
    expect(first, "the good container's first push").toBeDefined();
    // Now they turn bad: a push into them never returns, or prints without end.
    await Promise.all([...hung.map((c) => plantShell(c, "sleep 3600")), plantShell(flood, "cat /dev/zero")]);

    const mark = history.length;
    let previous = first as AgentEvents["pushed"];
    const lags: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const before = await readPushed(good);
      const next = await waitFor(
        "pushed",
        (e) => e.containerId === good.id && e.reason === "refresh" && e.expiration > previous.expiration,
        mark,
        WINDOW_MS + 10_000,
        `round ${String(round)}: the good container's credentials (expiring ${new Date(previous.expiration).toISOString()}) were not replaced`,
      );
      const lag = next.at - (previous.expiration - WINDOW_MS);
      lags.push(lag);
      expect(next.at, `round ${String(round)}: replaced after the old ones expired`).toBeLessThan(
        previous.expiration,
      );
      const after = await readPushed(good);
      expect(after?.AccessKeyId).toMatch(/^ASIA/);
      expect(after?.AccessKeyId).not.toBe(before?.AccessKeyId);
      expect(Date.parse(after?.Expiration ?? "")).toBeGreaterThan(Date.parse(before?.Expiration ?? ""));
      previous = next;
    }
    console.info(
      `isolation: good container refreshed ${lags.map((l) => `${String(Math.round(l))} ms`).join(", ")} after its due time, beside ${String(HUNG)} hung containers and a flooding one`,
    );
    // The good one waits for no hung push to end (20 s each): at most the 2-s slot patience in
    // the round where they first hang (they were healthy before), none once they are known
    // (they go last, or are busy); the rest is its own push on this busy 2-core machine.
    for (const lag of lags) expect(lag).toBeLessThan(8000);

    // Every round went on to the bad ones and says so; none of them was queued behind another.
    await waitFor(
      "refreshed",
      () => history.slice(mark).filter((h) => h.name === "refreshed").length >= 3,
      mark,
    );
    const summaries = logs.filter((l) => l.includes("refresh of AdministratorAccess@111111111111:"));
    expect(summaries.length).toBeGreaterThanOrEqual(ROUNDS);
    for (const line of summaries.slice(-ROUNDS)) {
      const count = (what: string) => Number(new RegExp(`(\\d+) ${what}`).exec(line)?.[1] ?? 0);
      expect(count("failed") + count("busy"), line).toBe(HUNG + 1);
      expect(count("pushed"), line).toBe(1);
    }
    const failures = history
      .slice(mark)
      .filter((h) => h.name === "pushFailed")
      .map((h) => h.event as AgentEvents["pushFailed"]);
    for (const c of hung) {
      const mine = failures.filter((f) => f.containerId === c.id);
      expect(mine.length, `timeouts recorded for ${c.name}`).toBeGreaterThanOrEqual(2);
      expect(mine[0]?.error).toContain("did not finish within 20 s");
    }
    const floods = failures.filter((f) => f.containerId === flood.id);
    expect(floods.length).toBeGreaterThanOrEqual(ROUNDS);
    expect(floods[0]?.error).toContain("wrote more than 64 KiB on stdout");
    const status = await agent.snapshot();
    const errors = new Map(status.containers.map((c) => [c.id, c.lastError]));
    for (const c of [...hung, flood])
      expect(errors.get(c.id), c.name).toMatch(/did not finish|wrote more than/);
    expect(errors.get(good.id)).toBeUndefined();
    // No push loop on the bad ones: one per round, or one after each time limit, for each.
    expect(failures.length).toBeLessThanOrEqual((ROUNDS + 1) * (HUNG + 1));
  }, 120_000);

  it("syncs a good container at start-up although a reconcile lists it after the hung ones", async () => {
    await agent?.stop();
    const mark = history.length;
    const t0 = Date.now();
    agent = await start();
    const pushed = await waitFor(
      "pushed",
      (e) => e.containerId === good.id,
      mark,
      15_000,
      "the good container, listed after 11 bad ones",
    );
    const latency = pushed.at - t0;
    console.info(
      `isolation: agent start -> good container synced in ${String(latency)} ms beside 11 bad ones`,
    );
    // ceil(11 bad / 8 slots) rounds of the 2-s patience, far below the 20-s exec time limit.
    expect(latency).toBeLessThan(6000);
    const growth = (rss.peak - rss.baseline) / 2 ** 20;
    console.info(`isolation: agent RSS grew by at most ${growth.toFixed(1)} MB`);
    expect(growth).toBeLessThan(RSS_BUDGET_MB);
  }, 60_000);
});
