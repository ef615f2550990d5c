import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentHandle } from "../src/agent/agent.js";
import type { AgentStateFile } from "../src/agent/agent-state.js";
import { readAgentState } from "../src/agent/agent-state.js";
import { tokenCachePath } from "../src/aws-files/token-cache.js";
import { SHM_SECRET_DIR } from "../src/delivery/paths.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import type { Deps } from "../src/runtime/deps.js";
import { assertBuilt, runCli, signIn } from "./cli-support.js";
import { awsCallerArn } from "./run-support.js";
import { createAgentEventLog } from "./support/agent-events.js";
import type { TestContainer } from "./support/docker.js";
import { startContainer, sweepTestContainersAfterAll } from "./support/docker.js";
import { grantLabels } from "./support/grant.js";
import type { TestHome } from "./support/host.js";
import { startGatewayIdc } from "./support/gateway-idc.js";
import { makeTestHome } from "./support/host.js";
import { agentTestDeps, startLockedAgent } from "./support/in-process-agent.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";

// Issue 10: when the agent cannot supply a container, the container's own AWS CLI says why (the
// agent's status note beside the credentials), and `sso-docker status` says the same. Real engine,
// real AWS CLI in the container, the fake IAM Identity Center taking a role away and giving it
// back. "n-" profile names keep other test files' agents out of these containers.
sweepTestContainersAfterAll();

const SESSION = "note-sso";
const OPS = { profile: "n-ops", accountId: "222222222222", roleName: "ReadOnlyAccess" };
const DEV = { profile: "n-dev", accountId: "111111111111", roleName: "ReadOnlyAccess" };
const APP = { profile: "n-app", accountId: "111111111111", roleName: "PowerUserAccess" };
const KEPT = { profile: "n-kept", accountId: "333333333333", roleName: "ReadOnlyAccess" };
/** Rounds every ~10 s; credentials that run out within a test. */
const ROLE_SECONDS = 20;

function config(startUrl: string): string {
  const profile = (p: typeof OPS, extra = "") =>
    `[profile ${p.profile}]\nsso_session = ${SESSION}\nsso_account_id = ${p.accountId}\nsso_role_name = ${p.roleName}\nregion = eu-west-1\n${extra}`;
  return [
    profile(OPS),
    profile(DEV),
    profile(APP),
    profile(KEPT, "sso_docker_containers = false\n"),
    `[sso-session ${SESSION}]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\n`,
  ].join("\n");
}

const arn = (p: typeof OPS) => `arn:aws:sts::${p.accountId}:assumed-role/${p.roleName}/developer`;
const NOTE_START = "the agent on the host cannot get credentials for profile";
const SINCE = "— since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ; on the host run";

let idc: FakeIdc;
let home: TestHome;
let deps: Deps;
let agent: AgentHandle;
let images: Awaited<ReturnType<typeof ensureTestImages>>;
let endpoint: string;
let stateFile: string;
const logs: string[] = [];
const events = createAgentEventLog(logs);
const { history, waitFor } = events;
const cleanups: (() => PromiseLike<unknown>)[] = [];
const tokenPath = () =>
  tokenCachePath(deps.paths.ssoCacheDir, { sessionName: SESSION, startUrl: idc.startUrl });

/** A new session in the token cache, as `sso-docker login` leaves it. */
const signedIn = () => signIn(deps.paths, idc, SESSION);

beforeAll(async () => {
  images = await ensureTestImages();
  assertBuilt();
  ({ idc, endpoint } = await startGatewayIdc(cleanups, { roleCredentialSeconds: ROLE_SECONDS }));
  home = await makeTestHome({ config: config(idc.startUrl), endpointEnv: idc.endpointEnv() });
  cleanups.push(() => home[Symbol.asyncDispose]());
  deps = agentTestDeps(home, logs);
  await signedIn();
  ({ agent, stateFile } = await startLockedAgent(
    deps,
    home,
    { retry: { baseMs: 200, maxMs: 1000 }, signedOutPollMs: 200 },
    cleanups,
  ));
  events.attach(agent, ["pushed", "pushFailed", "noted", "refreshed", "fetchFailed", "signedOut"]);
  await agent.ready;
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (process.env["AGENT_TEST_LOG"]) console.info(logs.join("\n"));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The AWS CLI in the container, as its user, with the profile the agent supplies (or not). */
function callerArn(c: TestContainer, profile: string) {
  return c.exec(awsCallerArn("--endpoint-url", endpoint, "--profile", profile), { user: "dev" });
}

async function secretDirEntries(c: TestContainer): Promise<string> {
  const ls = await c.exec(["ls", "-A", SHM_SECRET_DIR], { user: "0" });
  return ls.exitCode === 0 ? ls.stdout : `(none: ${ls.stderr})`;
}

/** The state file once it satisfies `pred` (it is written just after each change), bounded. */
async function stateWhere(pred: (state: AgentStateFile) => boolean, what: string): Promise<AgentStateFile> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const state = await readAgentState(stateFile);
    if (state !== undefined && pred(state)) return state;
    if (Date.now() > deadline)
      throw new Error(`the agent's state file never showed ${what}:\n${JSON.stringify(state, null, 2)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function labelled(image: string, profiles: string): Promise<TestContainer> {
  return startContainer(image, {
    user: "dev",
    hostGateway: true,
    labels: await grantLabels(home.home, profiles),
  });
}

describe("the agent's reason reaches the container", () => {
  it("a container started after its role was unassigned: its AWS CLI prints the agent's reason at once, `status` the same words; given back, the next round supplies it and the note is gone", async () => {
    idc.unassignRole(OPS.accountId, OPS.roleName);
    const mark = history.length;
    const c = await labelled(images.debianAws, OPS.profile);
    const noted = await waitFor("noted", (e) => e.containerId === c.id, mark, 20_000, "the note");
    const text = noted.notes[0]?.text ?? "";
    expect(noted.notes.map((n) => n.profile)).toEqual([OPS.profile]);
    expect(text).toMatch(
      new RegExp(
        `^${NOTE_START} n-ops: role ReadOnlyAccess in account 222222222222 is no longer assigned to you \\(ForbiddenException\\) ${SINCE} \`sso-docker configure --profile n-ops\`$`,
      ),
    );

    const denied = await callerArn(c, OPS.profile);
    expect({ exitCode: denied.exitCode, stdout: denied.stdout }).toEqual({ exitCode: 255, stdout: "" });
    expect(denied.stderr).toContain(`sso-docker: ${text}`);
    // The helper says so at once, rather than waiting out its 15 s for a first push that will not come.
    const t0 = performance.now();
    const helper = await c.exec(
      ["sh", "/etc/sso-docker/credential-process", `${SHM_SECRET_DIR}/${OPS.profile}.json`],
      {
        user: "dev",
      },
    );
    const ms = Math.round(performance.now() - t0);
    console.info(`status note: the helper printed the agent's reason in ${ms} ms`);
    expect({ exitCode: helper.exitCode, stderr: helper.stderr }).toEqual({
      exitCode: 1,
      stderr: `sso-docker: ${text}`,
    });
    expect(ms).toBeLessThan(10_000);
    expect(await secretDirEntries(c)).toBe(`${OPS.profile}.note`);

    await stateWhere((s) => s.containers.some((x) => x.id === c.id && x.lastError === text), "the note");
    const status = await runCli(["status"], home.env);
    expect(status.exitCode, status.stderr).toBe(0);
    const row = status.stdout.split("\n").find((line) => line.includes(c.name)) ?? status.stdout;
    expect(row).toContain(text);

    const back = history.length;
    idc.assignRole(OPS.accountId, OPS.roleName);
    await waitFor("pushed", (e) => e.containerId === c.id, back, 20_000, "the push once the role is back");
    const allowed = await callerArn(c, OPS.profile);
    expect({ exitCode: allowed.exitCode, stdout: allowed.stdout }).toEqual({ exitCode: 0, stdout: arn(OPS) });
    expect(await secretDirEntries(c)).toBe(`credentials\n${OPS.profile}.json`);
    await stateWhere((s) => s.containers.some((x) => x.id === c.id && x.lastError === undefined), "no error");
  }, 90_000);

  it("a running container whose role is unassigned keeps its credentials until they expire, then its AWS CLI prints the agent's reason", async () => {
    const mark = history.length;
    const c = await labelled(images.debianAws, DEV.profile);
    await waitFor("pushed", (e) => e.containerId === c.id, mark, 20_000, "the first push");
    expect((await callerArn(c, DEV.profile)).stdout).toBe(arn(DEV));

    const revoked = history.length;
    idc.unassignRole(DEV.accountId, DEV.roleName);
    const noted = await waitFor("noted", (e) => e.containerId === c.id, revoked, 20_000, "the note");
    const text = noted.notes[0]?.text ?? "";
    expect(text).toMatch(
      new RegExp(`^${NOTE_START} n-dev: role ReadOnlyAccess in account 111111111111 is no longer assigned`),
    );
    // Told at the first refused refresh, while what it holds still works.
    const held = await c.exec(["cat", `${SHM_SECRET_DIR}/${DEV.profile}.json`], { user: "dev" });
    const expiration = Date.parse((JSON.parse(held.stdout) as { Expiration: string }).Expiration);
    expect(expiration).toBeGreaterThan(Date.now());
    expect((await callerArn(c, DEV.profile)).stdout).toBe(arn(DEV));

    // Wall-clock time is what expiry is made of: wait until the held credentials have run out.
    await new Promise((resolve) => setTimeout(resolve, expiration - Date.now() + 1500));
    const expired = await callerArn(c, DEV.profile);
    expect({ exitCode: expired.exitCode, stdout: expired.stdout }).toEqual({ exitCode: 255, stdout: "" });
    expect(expired.stderr).toContain(`sso-docker: ${text}`);

    const back = history.length;
    idc.assignRole(DEV.accountId, DEV.roleName);
    await waitFor("pushed", (e) => e.containerId === c.id, back, 20_000, "the push once the role is back");
    expect((await callerArn(c, DEV.profile)).stdout).toBe(arn(DEV));
    expect(await secretDirEntries(c)).toBe(`credentials\n${DEV.profile}.json`);
  }, 90_000);

  it("profiles the host refuses to a container (kept out by the allow-list, a name that is no profile name) are explained by its helper under busybox ash", async () => {
    const helper = (c: TestContainer, profile: string) =>
      c.exec(["sh", "/etc/sso-docker/credential-process", `${SHM_SECRET_DIR}/${profile}.json`], {
        user: "dev",
      });

    const mark = history.length;
    const kept = await labelled(images.busybox, KEPT.profile);
    const keptNote = await waitFor("noted", (e) => e.containerId === kept.id, mark, 20_000, "the note");
    const keptText = keptNote.notes[0]?.text ?? "";
    expect(keptText).toMatch(
      new RegExp(
        `^${NOTE_START} n-kept: Profile "n-kept" is kept out of containers: ${home.configFile} sets sso_docker_containers = false for it ${SINCE} \`sso-docker status\`$`,
      ),
    );
    expect(await helper(kept, KEPT.profile)).toMatchObject({
      exitCode: 1,
      stdout: "",
      stderr: `sso-docker: ${keptText}`,
    });
    expect(await secretDirEntries(kept)).toBe(`${KEPT.profile}.note`);

    const badName = await labelled(images.busybox, `${OPS.profile},bad name`);
    const badNote = await waitFor("noted", (e) => e.containerId === badName.id, mark, 20_000, "the note");
    // The profile it may have gets the note (a push is all or nothing); the bad name gets no file.
    expect(badNote.notes.map((n) => n.profile)).toEqual([OPS.profile]);
    const badText = badNote.notes[0]?.text ?? "";
    expect(badText).toContain(
      `n-ops: Container ${badName.name} asks for profile «bad name», which is not a profile name sso-docker can sync —`,
    );
    expect(await helper(badName, OPS.profile)).toMatchObject({
      exitCode: 1,
      stderr: `sso-docker: ${badText}`,
    });
    expect(await secretDirEntries(badName)).toBe(`${OPS.profile}.note`);
  }, 60_000);

  it("signed out on the host: a container started meanwhile is told to sign in, and supplied once signed in again", async () => {
    const mark = history.length;
    // What `sso-docker logout` leaves: no token file for the session.
    await rm(tokenPath());
    await waitFor("signedOut", () => true, mark, 20_000, "the agent noticing the sign-out");
    const c = await labelled(images.debianAws, APP.profile);
    const noted = await waitFor("noted", (e) => e.containerId === c.id, mark, 20_000, "the note");
    const text = noted.notes[0]?.text ?? "";
    expect(text).toMatch(
      new RegExp(
        `^${NOTE_START} n-app: you are signed out of sso-session note-sso ${SINCE} \`sso-docker login --profile n-[a-z]+\`$`,
      ),
    );
    const denied = await callerArn(c, APP.profile);
    expect(denied.exitCode).toBe(255);
    expect(denied.stderr).toContain(`sso-docker: ${text}`);

    const back = history.length;
    await signedIn();
    await waitFor("pushed", (e) => e.containerId === c.id, back, 20_000, "the push after signing in");
    expect((await callerArn(c, APP.profile)).stdout).toBe(arn(APP));
    expect(await secretDirEntries(c)).toBe(`credentials\n${APP.profile}.json`);
  }, 60_000);
});
