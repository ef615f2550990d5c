import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentEventName } from "../src/agent/agent-events.js";
import type { AgentHandle } from "../src/agent/agent.js";
import { startAgent } from "../src/agent/agent.js";
import { isoSeconds } from "../src/runtime/time-format.js";
import { tokenCachePath, writeSsoToken } from "../src/aws-files/token-cache.js";
import { SHM_SECRET_DIR } from "../src/delivery/paths.js";
import type { DockerEngine } from "../src/docker/engine.js";
import { createDockerEngine } from "../src/docker/engine.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import { IDLE_COMMAND, TEST_LABEL, testRunId } from "./support/docker.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome, sampleConfig } from "./support/host.js";
import { agentTestDeps } from "./support/in-process-agent.js";
import { createAgentEventLog } from "./support/agent-events.js";
import { grantFlags } from "./support/grant.js";
import { ensureTestImages } from "./support/images.js";
import type { SecondEngine } from "./support/remote-engine.js";
import { startSecondEngine } from "./support/remote-engine.js";

// Acceptance 4 of issue 3 with a real engine restart: the agent follows a second dockerd (own
// data root, exec root, containerd and bridge, on loopback TCP), which is stopped (SIGTERM) and
// started again on the same data root and port. The main engine is never touched. The labelled
// container comes back by its restart policy with a new /dev/shm; the agent must notice the
// loss, reconnect and push again without anybody starting anything.

/** A marker the test writes to the container's /dev/shm: gone after the restart iff that tmpfs is new. */
const MARKER = "/dev/shm/before-engine-restart";

let engine2: SecondEngine;
/** The second engine, for the test's own reads (not the agent's client). */
let direct: DockerEngine;
let idc: FakeIdc;
let home: TestHome;
let agent: AgentHandle;
let busybox: string;
const logs: string[] = [];
const events = createAgentEventLog(logs, () => `\nsecond dockerd log tail:\n${engine2.log().slice(-2000)}`);
const { history, waitFor } = events;
/** Undone in reverse order in afterAll, whatever beforeAll got to. */
const cleanups: (() => PromiseLike<unknown>)[] = [];

/** `cmd` in the container as its user `dev`, through the second engine's API. */
function execAsDev(id: string, cmd: readonly string[]) {
  return direct.exec(id, { cmd, user: "dev" });
}

/** The pushed JSON as the container's user reads it; undefined when it is not there. */
async function readPushed(id: string): Promise<Record<string, string> | undefined> {
  const out = await execAsDev(id, ["cat", `${SHM_SECRET_DIR}/dev.json`]);
  return out.exitCode === 0 ? (JSON.parse(out.stdout) as Record<string, string>) : undefined;
}

async function startedAt(id: string): Promise<string> {
  const inspect = await execa("docker", ["inspect", "--format", "{{.State.StartedAt}}", id], {
    env: engine2.env,
    extendEnv: false,
  });
  return inspect.stdout.trim();
}

beforeAll(async () => {
  busybox = (await ensureTestImages()).busybox;
  const t0 = performance.now();
  // A throw-away data root: busybox loads in about a second, and the cached data root (with
  // the large Debian image) stays free for test/remote-engine.test.ts running alongside.
  engine2 = await startSecondEngine([busybox], { cache: false });
  cleanups.push(() => engine2[Symbol.asyncDispose]());
  console.info(
    `engine restart: second engine at ${engine2.host} ready in ${Math.round(performance.now() - t0)} ms`,
  );
  direct = createDockerEngine({ env: { DOCKER_HOST: engine2.host }, home: "/nonexistent" });

  idc = await startFakeIdc();
  cleanups.push(() => idc.close());
  home = await makeTestHome({ config: sampleConfig(idc.startUrl), endpointEnv: idc.endpointEnv() });
  cleanups.push(() => home[Symbol.asyncDispose]());
  const deps = agentTestDeps(home, logs);
  const seeded = idc.createSession();
  await writeSsoToken(
    tokenCachePath(deps.paths.ssoCacheDir, { sessionName: "my-sso", startUrl: idc.startUrl }),
    {
      startUrl: idc.startUrl,
      region: "us-east-1",
      accessToken: seeded.accessToken,
      expiresAt: isoSeconds(seeded.expiresAt),
      clientId: seeded.clientId,
      clientSecret: seeded.clientSecret,
      registrationExpiresAt: isoSeconds(seeded.registrationExpiresAt),
      ...(seeded.refreshToken === undefined ? {} : { refreshToken: seeded.refreshToken }),
    },
  );

  const engine = createDockerEngine({ env: { DOCKER_HOST: engine2.host }, home: home.home });
  // A short reconnect backoff, so the measurement below is the agent's resync and dockerd's
  // own restart rather than a backoff delay (default: 500 ms doubling up to 30 s).
  agent = await startAgent(deps, { engine, openBrowser: false, reconnect: { baseMs: 200, maxMs: 1000 } });
  cleanups.push(() => agent.stop());
  const names: AgentEventName[] = ["connected", "disconnected", "reconciled", "pushed", "pushFailed"];
  events.attach(agent, names);
  await agent.ready;
}, 120_000);

afterAll(async () => {
  if (process.env["AGENT_TEST_LOG"]) console.info(logs.join("\n"));
  // The agent first, then the engine (which removes its containers, restarting dockerd if a
  // failed test left it stopped).
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("sso-docker agent across a real dockerd restart", () => {
  it("notices the engine going away, reconnects when it is back and re-pushes into the restarted container", async () => {
    // A labelled container that dockerd itself brings back after its own restart.
    const mark0 = history.length;
    const run = await execa(
      "docker",
      [
        "run",
        "--detach",
        "--name",
        `sso-docker-test-${testRunId}-engine-restart`,
        "--user",
        "dev",
        "--restart",
        "always",
        ...(await grantFlags(home.home, "dev")),
        "--label",
        `${TEST_LABEL}=${testRunId}`,
        busybox,
        ...IDLE_COMMAND,
      ],
      { env: engine2.env, extendEnv: false },
    );
    const id = run.stdout.trim();
    await waitFor("pushed", (e) => e.containerId === id, mark0, 15_000, "first push");
    const first = await readPushed(id);
    expect(first?.["AccessKeyId"]).toMatch(/^ASIA/);
    expect((await execAsDev(id, ["touch", MARKER])).exitCode).toBe(0);
    const startedBefore = await startedAt(id);

    // dockerd goes away (stopping its containers on the way out): the agent must say so.
    const markStop = history.length;
    const stopAt = Date.now();
    await engine2.stopDaemon();
    const stoppedAt = Date.now();
    const lost = await waitFor("disconnected", () => true, markStop, 20_000, "after SIGTERM to dockerd");
    expect((await agent.snapshot()).connected).toBe(false);

    // The same dockerd again: same data root, exec root, bridge and port.
    const markBack = history.length; // the old process has exited: what follows is the new one's
    const startAt = Date.now();
    await engine2.startDaemon();
    const backAt = Date.now();
    const connected = await waitFor(
      "connected",
      (e) => e.reconnect,
      markBack,
      15_000,
      "after dockerd restart",
    );
    const pushed = await waitFor("pushed", (e) => e.containerId === id, markBack, 15_000, "re-push");
    const again = await readPushed(id);
    const readableAt = Date.now();

    expect(again?.["AccessKeyId"]).toMatch(/^ASIA/);
    expect(again?.["SecretAccessKey"]?.length).toBeGreaterThan(10);
    expect(again?.["Expiration"]).toBe(first?.["Expiration"]); // the cached credentials, pushed again
    // The container was restarted by dockerd (not by anyone here), with a new /dev/shm.
    expect(await startedAt(id)).not.toBe(startedBefore);
    expect((await execAsDev(id, ["ls", MARKER])).exitCode).not.toBe(0);
    expect(pushed.at).toBeGreaterThanOrEqual(connected.at);

    const readableMs = readableAt - backAt;
    console.info(
      [
        `engine restart: dockerd stop took ${stoppedAt - stopAt} ms, disconnected seen ${lost.at - stopAt} ms after SIGTERM;`,
        `dockerd start took ${backAt - startAt} ms; after it listened: connected +${connected.at - backAt} ms,`,
        `re-pushed +${pushed.at - backAt} ms [${pushed.reason}], credentials readable +${readableMs} ms`,
      ].join(" "),
    );
    expect(readableMs).toBeLessThan(10_000);
  }, 75_000);
});
