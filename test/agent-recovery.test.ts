import { readFile, stat } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentFiles } from "../src/agent/agent-files.js";
import type { AgentHandle } from "../src/agent/agent.js";
import { buildStatusReport } from "../src/agent/status-report.js";
import { loadGrantKey } from "../src/agent/grant-key.js";
import { wipeManagedContainers } from "../src/agent/wipe-managed.js";
import { isoSeconds } from "../src/runtime/time-format.js";
import { logout } from "../src/auth/logout.js";
import { readSsoToken, tokenCachePath, writeSsoToken } from "../src/aws-files/token-cache.js";
import { renderStatus } from "../src/cli/commands/status.js";
import { SHM_SECRET_DIR } from "../src/delivery/paths.js";
import type { DockerEngine } from "../src/docker/engine.js";
import { createDockerEngine } from "../src/docker/engine.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import type { Deps } from "../src/runtime/deps.js";
import { createDeps } from "../src/runtime/deps.js";
import { createLogger } from "../src/runtime/logger.js";
import type { TestContainer } from "./support/docker.js";
import { startContainer, sweepTestContainersAfterAll, TEST_LABEL, testRunId } from "./support/docker.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome } from "./support/host.js";
import { startLockedAgent } from "./support/in-process-agent.js";
import { createAgentEventLog } from "./support/agent-events.js";
import { grantLabels } from "./support/grant.js";
import { ensureTestImages } from "./support/images.js";

// Failure paths of the agent against the real engine and the fake IdC: AWS errors, an ended
// session (one login), the state file for `status`, and logout. "r-" profile names keep other
// test files' agents out of these containers.
sweepTestContainersAfterAll();

const SESSION = "recovery-sso";
const PROFILES: Record<string, [string, string]> = {
  "r-app": ["111111111111", "AdministratorAccess"],
  "r-flaky": ["111111111111", "ReadOnlyAccess"],
  "r-late1": ["222222222222", "PowerUserAccess"],
  "r-late2": ["333333333333", "ReadOnlyAccess"],
};

function config(startUrl: string): string {
  const sections = Object.entries(PROFILES).map(
    ([name, [account, role]]) =>
      `[profile ${name}]\nsso_session = ${SESSION}\nsso_account_id = ${account}\nsso_role_name = ${role}\n`,
  );
  return `${sections.join("\n")}\n[sso-session ${SESSION}]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\n`;
}

let idc: FakeIdc;
let home: TestHome;
let deps: Deps;
let engine: DockerEngine;
let agent: AgentHandle;
let busybox: string;
let app: TestContainer;
/** The engine for the test's own reads. */
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

const labelled = async (profiles: string) => ({
  user: "dev",
  labels: await grantLabels(home.home, profiles),
});
const tokenPath = () =>
  tokenCachePath(deps.paths.ssoCacheDir, { sessionName: SESSION, startUrl: idc.startUrl });

beforeAll(async () => {
  busybox = (await ensureTestImages()).busybox;
  idc = await startFakeIdc({ lifetimes: { roleCredentialSeconds: 30 } });
  cleanups.push(() => idc.close());
  home = await makeTestHome({ config: config(idc.startUrl), endpointEnv: idc.endpointEnv() });
  cleanups.push(() => home[Symbol.asyncDispose]());
  deps = createDeps({
    env: home.env,
    platform: "linux",
    logger: createLogger({ debug: true, write: (l) => logs.push(l) }),
  });
  const seeded = idc.createSession();
  await writeSsoToken(tokenPath(), {
    startUrl: idc.startUrl,
    region: "us-east-1",
    accessToken: seeded.accessToken,
    expiresAt: isoSeconds(seeded.expiresAt),
    clientId: seeded.clientId,
    clientSecret: seeded.clientSecret,
    registrationExpiresAt: isoSeconds(seeded.registrationExpiresAt),
    ...(seeded.refreshToken === undefined ? {} : { refreshToken: seeded.refreshToken }),
  });
  ({ agent, engine } = await startLockedAgent(deps, home, { retry: { baseMs: 200, maxMs: 1000 } }, cleanups));
  events.attach(agent, ["pushed", "fetchFailed", "loginStarted", "loginFinished"]);
  await agent.ready;
  app = await startContainer(busybox, await labelled("r-app"));
  await waitFor("pushed", (e) => e.containerId === app.id);
}, 120_000);

afterAll(async () => {
  if (process.env["AGENT_TEST_LOG"]) console.info(logs.join("\n"));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("sso-docker agent recovery", () => {
  it("writes a 0600 state file without secrets that `status` shows", async () => {
    const secret = (await readPushed(app, "r-app"))!;
    const files = agentFiles(home.env, home.home, engine.host);
    await agent.snapshot(); // the writer runs after each change; read what it wrote last
    const report = await buildStatusReport(deps, files, engine.host);
    expect(report.agent).toMatchObject({ running: true, pid: process.pid, connected: true });
    expect(report.sessions).toEqual([
      expect.objectContaining({ name: SESSION, refreshable: true, expired: false }),
    ]);
    const mine = report.containers.find((c) => c.id === app.id);
    expect(mine).toMatchObject({ name: app.name, profiles: ["r-app"], user: "dev" });
    expect(mine?.credentialExpiry).toBe(secret["Expiration"]);
    expect(renderStatus(report, Date.now())).toContain(app.name);
    const text = await readFile(files.stateFile, "utf8");
    expect((await stat(files.stateFile)).mode & 0o777).toBe(0o600);
    for (const value of [secret["SecretAccessKey"]!, secret["SessionToken"]!, secret["AccessKeyId"]!]) {
      expect(text).not.toContain(value);
      expect(logs.join("\n")).not.toContain(value);
    }
  });

  it("retries throttling and 5xx from GetRoleCredentials with backoff, then delivers", async () => {
    const mark = history.length;
    // The SDK itself tries 3 times: 6 failures make the agent's own retry do the rest.
    idc.failNext({ path: "/federation/credentials", status: 429, count: 3 });
    idc.failNext({ path: "/federation/credentials", status: 500, count: 3 });
    const c = await startContainer(busybox, await labelled("r-flaky"));
    const failed = await waitFor("fetchFailed", () => true, mark);
    expect(failed.error).toMatch(/HTTP (429|500)/);
    await waitFor("pushed", (e) => e.containerId === c.id, mark);
    expect((await readPushed(c, "r-flaky"))?.["AccessKeyId"]).toMatch(/^ASIA/);
    expect(idc.count("/federation/credentials", { status: 500 })).toBe(3);
  });

  it("asks for exactly one login when the session ends, while containers keep their credentials", async () => {
    const before = (await readPushed(app, "r-app"))?.["AccessKeyId"];
    const authorizations = idc.count("/device_authorization");
    // Revoked and expired: the refresh token is refused, only a new login helps.
    idc.revokeAllSessions();
    const token = (await readSsoToken(tokenPath()))!;
    await writeSsoToken(tokenPath(), { ...token, expiresAt: isoSeconds(Date.now() - 60_000) });
    const mark = history.length;
    const [late1, late2] = await Promise.all([
      startContainer(busybox, await labelled("r-late1")),
      startContainer(busybox, await labelled("r-late2")),
    ]);
    const prompt = await idc.nextDeviceAuthorization();
    expect((await readPushed(app, "r-app"))?.["AccessKeyId"]).toBe(before);
    expect(await readPushed(late1, "r-late1")).toBeUndefined();
    idc.approveDevice(prompt.userCode);
    await Promise.all([late1, late2].map((c) => waitFor("pushed", (e) => e.containerId === c.id, mark)));
    expect(idc.count("/device_authorization") - authorizations).toBe(1);
    expect(history.slice(mark).filter((h) => h.name === "loginStarted")).toHaveLength(1);
    expect(logs.join("\n")).toContain(prompt.userCode); // the person reads it in the agent's log
  });

  it("logout removes pushed credentials from every managed container", async () => {
    const other = await startContainer(busybox, { user: "dev" });
    await logout(deps);
    const result = await wipeManagedContainers(engine, {
      grantKey: await loadGrantKey(home.env, home.home),
      labels: [`${TEST_LABEL}=${testRunId}`],
    });
    expect(result.failed).toEqual([]);
    expect(result.wiped).toContain(app.name);
    expect(result.wiped).not.toContain(other.name);
    expect((await app.exec(["ls", "-A", SHM_SECRET_DIR], { user: "0" })).stdout).toBe("");
    expect(await readPushed(app, "r-app")).toBeUndefined();
  });
});
