import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentEventName } from "../src/agent/agent-events.js";
import type { AgentHandle } from "../src/agent/agent.js";
import { startAgent } from "../src/agent/agent.js";
import { SHM_SECRET_DIR } from "../src/delivery/paths.js";
import { createDockerEngine } from "../src/docker/engine.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import type { TestContainer } from "./support/docker.js";
import { startContainer, sweepTestContainersAfterAll, waitForDockerEvent } from "./support/docker.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome } from "./support/host.js";
import { agentTestDeps } from "./support/in-process-agent.js";
import { signIn } from "./cli-support.js";
import { createAgentEventLog } from "./support/agent-events.js";
import { grantEnv, grantLabels } from "./support/grant.js";
import { ensureTestImages } from "./support/images.js";

// The agent against the real engine, reached through a TCP proxy to /var/run/docker.sock that
// the reconnect test can cut. Profile names carry an "a-" prefix so that agents of other test
// files running at the same time never push into these containers (nor this one into theirs).
sweepTestContainersAfterAll();

const SESSION = "agent-sso";
const PROFILES: Record<string, [string, string]> = {
  "a-app": ["111111111111", "AdministratorAccess"],
  "a-ops": ["222222222222", "ReadOnlyAccess"],
  "a-fleet": ["111111111111", "PowerUserAccess"],
};

function agentConfig(startUrl: string, profiles: Record<string, [string, string]>): string {
  const sections = Object.entries(profiles).map(
    ([name, [account, role]]) =>
      `[profile ${name}]\nsso_session = ${SESSION}\nsso_account_id = ${account}\nsso_role_name = ${role}\n`,
  );
  return `${sections.join("\n")}\n[sso-session ${SESSION}]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\n`;
}

/** A unix-socket → TCP proxy whose connections can be cut and whose port can refuse, then come back. */
async function startSocketProxy(socketPath: string) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const open = () =>
    new Promise<void>((resolve) => {
      // Half-open: `docker exec` with stdin half-closes its side and still reads the output.
      server = createServer({ allowHalfOpen: true }, (client) => {
        const upstream = connect({ path: socketPath, allowHalfOpen: true });
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("error", () => {
            client.destroy();
            upstream.destroy();
          });
          s.on("close", () => sockets.delete(s));
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.listen(port, "127.0.0.1", () => {
        port = (server?.address() as AddressInfo).port;
        resolve();
      });
    });
  await open();
  const cut = () =>
    new Promise<void>((resolve) => {
      server?.close(() => {
        resolve();
      });
      for (const s of sockets) s.destroy();
    });
  return { port: () => port, cut, open };
}

let idc: FakeIdc;
let home: TestHome;
let agent: AgentHandle;
let proxy: Awaited<ReturnType<typeof startSocketProxy>>;
let busybox: string;
/** The engine without the proxy, for the test's own reads. */
const direct = createDockerEngine({ env: {}, home: "/nonexistent" });
const logs: string[] = [];
const events = createAgentEventLog(logs);
const { history, waitFor } = events;
/** Undone in reverse order in afterAll, whatever beforeAll got to. */
const cleanups: (() => PromiseLike<unknown>)[] = [];

/** The pushed JSON as the container's user reads it (an API exec: cheaper than 40 `docker exec`s). */
async function readPushed(c: TestContainer, profile: string): Promise<Record<string, string> | undefined> {
  const out = await direct.exec(c.id, { cmd: ["cat", `${SHM_SECRET_DIR}/${profile}.json`], user: "dev" });
  return out.exitCode === 0 ? (JSON.parse(out.stdout) as Record<string, string>) : undefined;
}

function fetches(role: string, account: string): number {
  return idc.requests.filter(
    (r) =>
      r.path === "/federation/credentials" &&
      r.query["role_name"] === role &&
      r.query["account_id"] === account,
  ).length;
}

const labelled = async (profiles: string) => ({
  user: "dev",
  labels: await grantLabels(home.home, profiles),
});

beforeAll(async () => {
  busybox = (await ensureTestImages()).busybox;
  idc = await startFakeIdc({ lifetimes: { roleCredentialSeconds: 30 } });
  cleanups.push(() => idc.close());
  home = await makeTestHome({ config: agentConfig(idc.startUrl, PROFILES), endpointEnv: idc.endpointEnv() });
  cleanups.push(() => home[Symbol.asyncDispose]());
  const deps = agentTestDeps(home, logs);
  await signIn(deps.paths, idc, SESSION);
  proxy = await startSocketProxy("/var/run/docker.sock");
  cleanups.push(() => proxy.cut());
  const engine = createDockerEngine({
    env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port()}` },
    home: home.home,
  });
  agent = await startAgent(deps, { engine, openBrowser: false, reconnect: { baseMs: 100, maxMs: 500 } });
  cleanups.push(() => agent.stop());
  const names: AgentEventName[] = [
    "pushed",
    "pushFailed",
    "ignored",
    "refreshed",
    "connected",
    "disconnected",
  ];
  events.attach(agent, names);
  await agent.ready;
}, 120_000);

afterAll(async () => {
  if (process.env["AGENT_TEST_LOG"]) console.info(logs.join("\n"));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("sso-docker agent against the real engine", () => {
  it("gives a container started by plain `docker run` readable credentials within 1 s of its start event", async () => {
    const since = new Date();
    const mark = history.length;
    const c = await startContainer(busybox, await labelled("a-app"));
    const started = await waitForDockerEvent(
      { type: ["container"], event: ["start"], container: [c.id] },
      { since },
    );
    const pushed = await waitFor("pushed", (e) => e.containerId === c.id, mark);
    const latency = pushed.at - started.timeNano / 1e6;
    console.info(`agent: start event → credentials pushed in ${latency.toFixed(0)} ms`);
    expect(latency).toBeLessThan(1000);
    const json = await readPushed(c, "a-app");
    expect(json?.["Version"]).toBe(1);
    expect(json?.["AccessKeyId"]).toBe(idc.issuedCredentials().at(-1)?.accessKeyId);
    expect(logs.join("\n")).not.toContain(json?.["SecretAccessKey"]);
    expect(logs.join("\n")).not.toContain(json?.["SessionToken"]);

    // Restart empties the container's /dev/shm; the agent pushes again on the new start.
    const restartSince = new Date();
    const again = history.length;
    await execa("docker", ["restart", "-t", "1", c.id]);
    const restarted = await waitForDockerEvent(
      { type: ["container"], event: ["restart"], container: [c.id] },
      { since: restartSince },
    );
    const resynced = await waitFor("pushed", (e) => e.containerId === c.id, again);
    expect(resynced.reason).toBe("start");
    expect(resynced.at).toBeGreaterThan(restartSince.getTime());
    console.info(
      `agent: restart → resynced ${(resynced.at - restarted.timeNano / 1e6).toFixed(0)} ms around the restart event`,
    );
    expect((await readPushed(c, "a-app"))?.["AccessKeyId"]).toMatch(/^ASIA/);
  });

  it("gives each container only the profiles it names (label or env) and nothing to others", async () => {
    const mark = history.length;
    const [app, ops, none] = await Promise.all([
      startContainer(busybox, await labelled("a-app")),
      startContainer(busybox, { user: "dev", env: await grantEnv(home.home, "a-ops") }),
      startContainer(busybox, { user: "dev" }),
    ]);
    await Promise.all([
      waitFor("pushed", (e) => e.containerId === app.id, mark),
      waitFor("pushed", (e) => e.containerId === ops.id, mark),
      waitFor("ignored", (e) => e.containerId === none.id, mark),
    ]);
    const list = async (c: TestContainer) =>
      (await c.exec(["ls", SHM_SECRET_DIR], { user: "0" })).stdout.split("\n").sort();
    expect(await list(app)).toEqual(["a-app.json", "credentials"]);
    expect(await list(ops)).toEqual(["a-ops.json", "credentials"]);
    expect((await ops.exec(["cat", "/etc/sso-docker/config"])).stdout).not.toContain("a-app");
    expect(
      (await none.exec(["ls", "-a", SHM_SECRET_DIR, "/etc/sso-docker"], { user: "0" })).exitCode,
    ).not.toBe(0);
  });

  it("refreshes 20 containers of one role with ONE GetRoleCredentials per round", async () => {
    const [account, role] = PROFILES["a-fleet"]!;
    const isFleet = (e: { identity: string }) => e.identity.endsWith(`|${account}|${role}`);
    const rounds = (from: number) =>
      history.slice(from).filter((h) => h.name === "refreshed" && isFleet(h.event as { identity: string }))
        .length;
    const before = fetches(role, account);
    const mark = history.length;
    const options = await labelled("a-fleet");
    const fleet = await Promise.all(Array.from({ length: 20 }, () => startContainer(busybox, options)));
    await Promise.all(fleet.map((c) => waitFor("pushed", (e) => e.containerId === c.id, mark)));
    // One fetch served all 20 (plus one per round, if a slow machine took > 15 s to start them).
    // A round's `refreshed` comes once its pushes have ended: wait for those its fetches began.
    const extra = fetches(role, account) - before - 1;
    if (extra > 0) await waitFor("refreshed", () => rounds(mark) >= extra, mark);
    expect(fetches(role, account) - before).toBe(1 + rounds(mark));
    const first = await Promise.all(fleet.map((c) => readPushed(c, "a-fleet")));
    const firstKeys = first.map((json) => json?.["AccessKeyId"]);
    const latest = Math.max(...first.map((json) => Date.parse(json?.["Expiration"] ?? "")));

    const refreshed = await waitFor("refreshed", (e) => isFleet(e) && e.expiration > latest, mark, 25_000);
    expect(refreshed.containers).toBe(20);
    expect(fetches(role, account) - before).toBe(1 + rounds(mark));
    const newKeys = await Promise.all(
      fleet.map(async (c) => (await readPushed(c, "a-fleet"))?.["AccessKeyId"]),
    );
    expect(new Set(newKeys).size).toBe(1);
    expect(firstKeys).not.toContain(newKeys[0]);
    console.info(
      `agent: 20 containers, ${fetches(role, account) - before} GetRoleCredentials for ${rounds(mark)} refresh round(s)`,
    );
  }, 60_000);

  it("reconnects when the engine connection breaks, then reconciles containers started meanwhile", async () => {
    const mark = history.length;
    await proxy.cut();
    await waitFor("disconnected", () => true, mark);
    const c = await startContainer(busybox, await labelled("a-app")); // through the real socket: the agent cannot see it
    expect(await readPushed(c, "a-app")).toBeUndefined();
    await proxy.open();
    const connected = await waitFor("connected", (e) => e.reconnect, mark);
    const pushed = await waitFor("pushed", (e) => e.containerId === c.id, mark);
    console.info(
      `agent: reconnected, pushed to the missed container ${(pushed.at - connected.at).toFixed(0)} ms later`,
    );
    expect((await readPushed(c, "a-app"))?.["AccessKeyId"]).toMatch(/^ASIA/);
  });

  it("starts while no engine answers at its address, and follows the engine once one does", async () => {
    // A HOME of its own: the suite's agent leaves this one's containers alone (not bound to it).
    const laptop = await makeTestHome({
      config: agentConfig(idc.startUrl, PROFILES),
      endpointEnv: idc.endpointEnv(),
    });
    cleanups.push(() => laptop[Symbol.asyncDispose]());
    const lateLogs: string[] = [];
    const deps = agentTestDeps(laptop, lateLogs);
    await signIn(deps.paths, idc, SESSION);
    const late = await startSocketProxy("/var/run/docker.sock");
    await late.cut(); // its port refuses until it opens again
    cleanups.push(() => late.cut());
    const lateAgent = await startAgent(deps, {
      engine: createDockerEngine({
        env: { DOCKER_HOST: `tcp://127.0.0.1:${late.port()}` },
        home: laptop.home,
      }),
      openBrowser: false,
      reconnect: { baseMs: 100, maxMs: 500 },
    });
    cleanups.push(() => lateAgent.stop());
    expect(lateAgent.engineAnswered).toBe(false);
    const lateEvents = createAgentEventLog(lateLogs);
    lateEvents.attach(lateAgent, ["connected", "pushed"]);
    const c = await startContainer(busybox, {
      user: "dev",
      labels: await grantLabels(laptop.home, "a-ops"),
    });

    await late.open();
    const connected = await lateEvents.waitFor("connected", () => true);
    expect(connected.reconnect).toBe(false);
    await lateEvents.waitFor("pushed", (e) => e.containerId === c.id);
    expect((await readPushed(c, "a-ops"))?.["AccessKeyId"]).toMatch(/^ASIA/);
    expect(lateLogs.filter((l) => l.includes("no Docker engine answers"))).toHaveLength(1);
  });
});
