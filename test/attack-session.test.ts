import { beforeAll, describe, expect, it } from "vitest";
import { createAgentEventLog } from "./support/agent-events.js";
import type { AgentEventLog } from "./support/agent-events.js";
import type { AgentHandle } from "../src/agent/agent.js";
import { startAgent } from "../src/agent/agent.js";
import { wipeManagedContainers } from "../src/agent/wipe-managed.js";
import { isoSeconds } from "../src/runtime/time-format.js";
import { logout } from "../src/auth/logout.js";
import type { SsoToken } from "../src/aws-files/token-cache.js";
import { readSsoToken, tokenCachePath, writeSsoToken } from "../src/aws-files/token-cache.js";
import { identityKey } from "../src/credentials/role-credentials.js";
import { SHM_SECRET_DIR } from "../src/delivery/paths.js";
import type { DockerEngine } from "../src/docker/engine.js";
import { createDockerEngine } from "../src/docker/engine.js";
import type { FakeIdc, RequestLogEntry } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import type { Deps } from "../src/runtime/deps.js";
import { assertBuilt, runCli } from "./cli-support.js";
import type { TestContainer } from "./support/docker.js";
import { grantLabels } from "./support/grant.js";
import { loadGrantKey } from "../src/agent/grant-key.js";
import { startContainer, sweepTestContainersAfterAll, TEST_LABEL, testRunId } from "./support/docker.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome } from "./support/host.js";
import { agentTestDeps } from "./support/in-process-agent.js";
import { ensureTestImages } from "./support/images.js";

// Issue 9, finding 5: an SSO session that ends under a running agent. Each test kills the
// session the way it dies for real (the service expires and revokes it, the user logs out, a
// token without a refresh token runs out) and then checks invariant 10: exactly one sign-in
// request, containers keep what they have, and the agent resumes by itself once signed in.
// "s-" profile names keep other test files' agents out of these containers.
sweepTestContainersAfterAll();

const SESSION = "attack-sso";
const APP = { profile: "s-app", accountId: "111111111111", roleName: "AdministratorAccess" };
const OPS = { profile: "s-ops", accountId: "222222222222", roleName: "ReadOnlyAccess" };
const LEGACY = { profile: "s-legacy", accountId: "333333333333", roleName: "ReadOnlyAccess" };
/** Short enough that refresh rounds come every ~10 s, long enough to check "still valid". */
const ROLE_SECONDS = 20;

function config(startUrl: string): string {
  const profile = (p: typeof APP) =>
    `[profile ${p.profile}]\nsso_session = ${SESSION}\nsso_account_id = ${p.accountId}\nsso_role_name = ${p.roleName}\n`;
  return [
    profile(APP),
    profile(OPS),
    `[profile ${LEGACY.profile}]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\nsso_account_id = ${LEGACY.accountId}\nsso_role_name = ${LEGACY.roleName}\n`,
    `[sso-session ${SESSION}]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\n`,
  ].join("\n");
}

let busybox: string;
/** The engine for the test's own reads. */
const direct = createDockerEngine({ env: {}, home: "/nonexistent" });

beforeAll(async () => {
  busybox = (await ensureTestImages()).busybox;
  assertBuilt();
}, 120_000);

/** A fake IdC, a HOME signed in to both sessions, and an agent on the real engine (device flow, no browser). */
interface Rig extends AsyncDisposable {
  idc: FakeIdc;
  home: TestHome;
  deps: Deps;
  engine: DockerEngine;
  agent: AgentHandle;
  logs: string[];
  events: AgentEventLog;
  tokenPath: (legacy?: boolean) => string;
  /** The first request at or after log index `from` matching `pred` (past or future), bounded. */
  waitForRequest: (
    pred: (r: RequestLogEntry) => boolean,
    from: number,
    what: string,
  ) => Promise<RequestLogEntry>;
  /** A labelled container the agent has pushed to. */
  supplied: (profile: string) => Promise<TestContainer>;
}

async function startRig(): Promise<Rig> {
  const cleanups: (() => PromiseLike<unknown>)[] = [];
  const wakeups = new Set<() => void>();
  const idc = await startFakeIdc({
    lifetimes: { roleCredentialSeconds: ROLE_SECONDS, pollIntervalSeconds: 1 },
    onRequest: () => {
      for (const wake of [...wakeups]) wake();
    },
  });
  cleanups.push(() => idc.close());
  const home = await makeTestHome({ config: config(idc.startUrl), endpointEnv: idc.endpointEnv() });
  cleanups.push(() => home[Symbol.asyncDispose]());
  const logs: string[] = [];
  const deps = agentTestDeps(home, logs);
  const tokenPath = (legacy = false) =>
    tokenCachePath(deps.paths.ssoCacheDir, {
      sessionName: legacy ? undefined : SESSION,
      startUrl: idc.startUrl,
    });
  for (const legacy of [false, true]) {
    const seeded = idc.createSession();
    await writeSsoToken(tokenPath(legacy), {
      startUrl: idc.startUrl,
      region: "us-east-1",
      accessToken: seeded.accessToken,
      expiresAt: isoSeconds(seeded.expiresAt),
      clientId: seeded.clientId,
      clientSecret: seeded.clientSecret,
      registrationExpiresAt: isoSeconds(seeded.registrationExpiresAt),
      // A legacy profile's login gets no refresh token: its session ends with its access token.
      ...(legacy || seeded.refreshToken === undefined ? {} : { refreshToken: seeded.refreshToken }),
    });
  }
  const engine = createDockerEngine({ env: {}, home: home.home });
  const containers: TestContainer[] = [];
  cleanups.push(() => Promise.all(containers.map((c) => c.remove())));
  const agent = await startAgent(deps, {
    engine,
    openBrowser: false,
    useDeviceCode: true,
    retry: { baseMs: 200, maxMs: 1000 },
    loginRetryMs: 1000,
    signedOutPollMs: 200,
  });
  cleanups.push(() => agent.stop());
  const events = createAgentEventLog(logs);
  events.attach(agent, [
    "pushed",
    "pushFailed",
    "refreshed",
    "fetchFailed",
    "loginStarted",
    "loginFinished",
    "signedOut",
  ]);
  await agent.ready;
  const rig: Rig = {
    idc,
    home,
    deps,
    engine,
    agent,
    logs,
    events,
    tokenPath,
    waitForRequest: (pred, from, what) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = idc.requests.slice(from).find(pred);
          if (!hit) return;
          done();
          resolve(hit);
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `${what}: no such request to the fake IdC within 30 s; agent log tail:\n${logs.slice(-15).join("\n")}`,
            ),
          );
        }, 30_000);
        const done = () => {
          clearTimeout(timer);
          wakeups.delete(check);
        };
        wakeups.add(check);
        check();
      }),
    supplied: async (profile) => {
      const mark = events.history.length;
      const labels = await grantLabels(home.home, profile, home.env);
      const c = await startContainer(busybox, { user: "dev", labels });
      containers.push(c);
      await events.waitFor("pushed", (e) => e.containerId === c.id, mark, 20_000, `first push to ${profile}`);
      return c;
    },
    [Symbol.asyncDispose]: async () => {
      if (process.env["AGENT_TEST_LOG"]) console.info(logs.join("\n"));
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
  return rig;
}

/** The pushed JSON as the container's user reads it. */
async function readPushed(c: TestContainer, profile: string): Promise<Record<string, string> | undefined> {
  const out = await direct.exec(c.id, { cmd: ["cat", `${SHM_SECRET_DIR}/${profile}.json`], user: "dev" });
  return out.exitCode === 0 ? (JSON.parse(out.stdout) as Record<string, string>) : undefined;
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string, logs: readonly string[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new Error(`${what} did not happen within ${ms} ms; agent log tail:\n${logs.slice(-15).join("\n")}`),
      );
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const keyOf = (p: typeof APP, startUrl: string, legacy = false) =>
  identityKey({
    sessionName: legacy ? undefined : SESSION,
    startUrl,
    accountId: p.accountId,
    roleName: p.roleName,
  });

const isFetch = (p: typeof APP, status: number) => (r: RequestLogEntry) =>
  r.path === "/federation/credentials" &&
  r.status === status &&
  r.query["account_id"] === p.accountId &&
  r.query["role_name"] === p.roleName;

/** A `sso-docker login` in a terminal (the built CLI); the test approves its code as the person would. */
async function terminalLogin(rig: Rig, profile: string) {
  const run = runCli(["login", "--profile", profile, "--use-device-code", "--no-browser"], rig.home.env);
  const prompt = await within(
    rig.idc.nextDeviceAuthorization(),
    20_000,
    "the terminal login's device authorization",
    rig.logs,
  ).catch(async (err: unknown) => {
    run.kill();
    const out = await run;
    throw new Error(`${(err as Error).message}\n-- terminal stderr --\n${out.stderr}`);
  });
  rig.idc.approveDevice(prompt.userCode);
  return run;
}

describe("a dead SSO session under a running agent (issue 9, finding 5)", () => {
  it("asks for exactly one sign-in for all its identities, keeps containers' credentials, and resumes after approval", async () => {
    await using rig = await startRig();
    const { idc, events } = rig;
    const app = await rig.supplied(APP.profile);
    const ops = await rig.supplied(OPS.profile);
    const before = { app: await readPushed(app, APP.profile), ops: await readPushed(ops, OPS.profile) };
    const authorizations = idc.count("/device_authorization");
    const mark = events.history.length;
    const from = idc.requests.length;

    // The service ends the session: access tokens stop working, the refresh token is refused.
    idc.expireAccessTokens();
    idc.revokeAllSessions();
    // Both identities' refresh rounds run into the dead session before anyone signs in.
    await rig.waitForRequest(isFetch(APP, 401), from, "the s-app round meeting the dead session");
    await rig.waitForRequest(isFetch(OPS, 401), from, "the s-ops round meeting the dead session");
    const prompt = await within(
      idc.nextDeviceAuthorization(),
      20_000,
      "the agent's device authorization",
      rig.logs,
    );
    expect(rig.logs.join("\n")).toContain(prompt.userCode); // the person reads it in the agent's log

    // Meanwhile the containers keep what they had: same keys, still valid, nothing pushed over them.
    const during = { app: await readPushed(app, APP.profile), ops: await readPushed(ops, OPS.profile) };
    expect(during).toEqual(before);
    expect(Date.parse(during.app?.["Expiration"] ?? "")).toBeGreaterThan(Date.now());
    expect(events.history.slice(mark).filter((h) => h.name === "pushed")).toEqual([]);
    expect(idc.count("/device_authorization") - authorizations).toBe(1);

    const approved = events.history.length;
    idc.approveDevice(prompt.userCode);
    await Promise.all(
      [app, ops].map((c) =>
        events.waitFor(
          "pushed",
          (e) => e.containerId === c.id,
          approved,
          20_000,
          `push to ${c.name} after approval`,
        ),
      ),
    );
    const after = { app: await readPushed(app, APP.profile), ops: await readPushed(ops, OPS.profile) };
    expect(after.app?.["AccessKeyId"]).toMatch(/^ASIA/);
    expect(after.app?.["AccessKeyId"]).not.toBe(before.app?.["AccessKeyId"]);
    expect(after.ops?.["AccessKeyId"]).not.toBe(before.ops?.["AccessKeyId"]);

    // And it goes on: one more ordinary refresh round after the sign-in.
    const resumed = events.history.length;
    const appKey = keyOf(APP, idc.startUrl);
    await events.waitFor(
      "refreshed",
      (e) => e.identity === appKey,
      resumed,
      25_000,
      "a refresh round after the sign-in",
    );
    expect(idc.count("/device_authorization") - authorizations).toBe(1);
    expect(events.history.slice(mark).filter((h) => h.name === "loginStarted")).toHaveLength(1);
    for (const secret of [after.app?.["SecretAccessKey"], after.app?.["SessionToken"]])
      expect(rig.logs.join("\n")).not.toContain(secret);
  }, 90_000);

  it("a session whose token cannot be refreshed (no refresh token) asks for one sign-in when it runs out", async () => {
    await using rig = await startRig();
    const { idc, events } = rig;
    const legacy = await rig.supplied(LEGACY.profile);
    const before = await readPushed(legacy, LEGACY.profile);
    const authorizations = idc.count("/device_authorization");
    const mark = events.history.length;
    // The token runs out (as a legacy profile's does after 8 h): nothing can refresh it.
    const token = (await readSsoToken(rig.tokenPath(true))) as SsoToken;
    await writeSsoToken(rig.tokenPath(true), { ...token, expiresAt: isoSeconds(Date.now() - 1000) });

    const prompt = await within(
      idc.nextDeviceAuthorization(),
      25_000,
      "the agent's device authorization",
      rig.logs,
    );
    expect(await readPushed(legacy, LEGACY.profile)).toEqual(before);
    idc.approveDevice(prompt.userCode);
    await events.waitFor("pushed", (e) => e.containerId === legacy.id, mark, 20_000, "push after approval");
    expect((await readPushed(legacy, LEGACY.profile))?.["AccessKeyId"]).not.toBe(before?.["AccessKeyId"]);
    expect(idc.count("/device_authorization") - authorizations).toBe(1);
  }, 60_000);

  it("a `sso-docker login` in a terminal while the agent's own sign-in waits resumes the agent and ends its prompt", async () => {
    await using rig = await startRig();
    const { idc, events } = rig;
    const app = await rig.supplied(APP.profile);
    const before = await readPushed(app, APP.profile);
    const authorizations = idc.count("/device_authorization");
    idc.expireAccessTokens();
    idc.revokeAllSessions();
    const agentPrompt = await within(
      idc.nextDeviceAuthorization(),
      20_000,
      "the agent's device authorization",
      rig.logs,
    );

    // The person signs in in a terminal instead of answering the agent's code.
    const mark = events.history.length;
    const terminal = await terminalLogin(rig, APP.profile);
    expect(terminal.exitCode, terminal.stderr).toBe(0);
    const finished = await events.waitFor(
      "loginFinished",
      () => true,
      mark,
      20_000,
      "the agent's sign-in ending",
    );
    await events.waitFor(
      "pushed",
      (e) => e.containerId === app.id,
      mark,
      20_000,
      "push after the terminal login",
    );
    expect((await readPushed(app, APP.profile))?.["AccessKeyId"]).not.toBe(before?.["AccessKeyId"]);
    expect(finished).toMatchObject({ ok: true, elsewhere: true });
    expect(idc.count("/device_authorization") - authorizations).toBe(2); // the agent's and the terminal's

    // The agent's own prompt is over: its device code is no longer polled, across a whole refresh round.
    const polls = idc.count("/token", { operation: "device_code" });
    const round = events.history.length;
    await events.waitFor("refreshed", () => true, round, 25_000, "a refresh round after the terminal login");
    expect(idc.count("/token", { operation: "device_code" })).toBe(polls);
    // Its code was never used: it can still be decided.
    expect(() => {
      idc.approveDevice(agentPrompt.userCode);
    }).not.toThrow();
  }, 90_000);

  it("after `sso-docker logout` waits without prompting, and supplies the containers again after `sso-docker login`", async () => {
    await using rig = await startRig();
    const { idc, events } = rig;
    const app = await rig.supplied(APP.profile);
    const before = await readPushed(app, APP.profile);
    const authorizations = idc.count("/device_authorization");
    const mark = events.history.length;

    await logout(rig.deps);
    const wiped = await wipeManagedContainers(rig.engine, {
      labels: [`${TEST_LABEL}=${testRunId}`],
      grantKey: await loadGrantKey(rig.home.env, rig.home.home),
    });
    expect(wiped.wiped).toContain(app.name);
    expect(await readPushed(app, APP.profile)).toBeUndefined();
    // The agent sees the sign-out on its next look, and prompts for nothing: the user chose it.
    await events.waitFor("signedOut", () => true, mark, 20_000, "the agent noticing the sign-out");

    const signedIn = events.history.length;
    const terminal = await terminalLogin(rig, APP.profile);
    expect(terminal.exitCode, terminal.stderr).toBe(0);
    await events.waitFor(
      "pushed",
      (e) => e.containerId === app.id,
      signedIn,
      25_000,
      "push after `sso-docker login`",
    );
    const after = await readPushed(app, APP.profile);
    expect(after?.["AccessKeyId"]).toMatch(/^ASIA/);
    expect(after?.["AccessKeyId"]).not.toBe(before?.["AccessKeyId"]);
    expect(idc.count("/device_authorization") - authorizations).toBe(1); // the terminal's only
    expect(events.history.slice(mark).filter((h) => h.name === "loginStarted")).toEqual([]);
  }, 90_000);
});
