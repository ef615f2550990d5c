import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentFiles } from "../src/agent/agent-files.js";
import { acquireAgentLock } from "../src/agent/agent-lock.js";
import type { AgentHandle } from "../src/agent/agent.js";
import { startAgent } from "../src/agent/agent.js";
import { resolveProfile } from "../src/credentials/resolve-profile.js";
import { supplyKey } from "../src/credentials/supply-key.js";
import { MAX_NOTE_CHARS } from "../src/delivery/push-notes.js";
import { createDockerEngine } from "../src/docker/engine.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import type { Deps } from "../src/runtime/deps.js";
import { createDeps } from "../src/runtime/deps.js";
import { createLogger } from "../src/runtime/logger.js";
import { assertBuilt, runCli, signIn } from "./cli-support.js";
import { awsCallerArn, PY_CALLER_IDENTITY } from "./run-support.js";
import { createAgentEventLog } from "./support/agent-events.js";
import type { TestContainer } from "./support/docker.js";
import { startContainer, sweepTestContainersAfterAll } from "./support/docker.js";
import { grantLabels } from "./support/grant.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome } from "./support/host.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";

// Issue 13, phase 2: profiles that assume a role from an IAM Identity Center profile, supplied
// to labelled containers by one agent on the real engine, against the fake's STS AssumeRole with
// 20-s assumed-role credentials (a refresh round every ~10 s). "c-" profile names keep other
// test files' agents out of these containers.
sweepTestContainersAfterAll();

const SESSION = "chain-sso";
const DEPLOYER = "arn:aws:iam::444444444444:role/workload-deployer";
const READONLY = "arn:aws:iam::444444444444:role/teams/app/workload-readonly";
const AUDIT = "arn:aws:iam::555555555555:role/partner-audit";
const NOPE = "arn:aws:iam::444444444444:role/nope";
const ASSUMED_SECONDS = 20;

function config(startUrl: string): string {
  return `[sso-session ${SESSION}]
sso_start_url = ${startUrl}
sso_region = us-east-1

[profile c-base]
sso_session = ${SESSION}
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess
region = us-east-1

[profile c-app]
role_arn = ${DEPLOYER}
source_profile = c-base
role_session_name = c-app-session
region = eu-central-1
output = json

[profile c-audit]
role_arn = ${AUDIT}
source_profile = c-app
external_id = partner-7f3a
role_session_name = audit-session
region = eu-west-2

[profile c-many]
role_arn = ${READONLY}
source_profile = c-base
role_session_name = many

[profile c-many-alias]
role_arn = ${READONLY}
source_profile = c-base
role_session_name = many

[profile c-loop-a]
role_arn = ${DEPLOYER}
source_profile = c-loop-b

[profile c-loop-b]
role_arn = ${DEPLOYER}
source_profile = c-loop-a

[profile c-denied]
role_arn = ${NOPE}
source_profile = c-base

[profile c-wrong-id]
role_arn = ${AUDIT}
source_profile = c-app
external_id = not-the-id
`;
}

/** The note for `profile`, its reason starting with `why` (a long one is cut to fit, before the command). */
const NOTE = (profile: string, why: string) =>
  new RegExp(
    `^the agent on the host cannot get credentials for profile ${profile}: ${why}.* — since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ; on the host run \`sso-docker status\`$`,
  );
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

let idc: FakeIdc;
let home: TestHome;
let deps: Deps;
let agent: AgentHandle;
let images: Awaited<ReturnType<typeof ensureTestImages>>;
let endpoint: string;
const logs: string[] = [];
const events = createAgentEventLog(logs);
const { history, waitFor } = events;
const cleanups: (() => PromiseLike<unknown>)[] = [];

beforeAll(async () => {
  images = await ensureTestImages();
  assertBuilt();
  idc = await startFakeIdc({ host: "0.0.0.0", lifetimes: { assumedRoleCapSeconds: ASSUMED_SECONDS } });
  cleanups.push(() => idc.close());
  endpoint = `http://host.docker.internal:${new URL(idc.url).port}`;
  home = await makeTestHome({ config: config(idc.startUrl), endpointEnv: idc.endpointEnv() });
  cleanups.push(() => home[Symbol.asyncDispose]());
  deps = createDeps({
    env: home.env,
    platform: "linux",
    logger: createLogger({
      debug: true,
      write: (line) => logs.push(`${(performance.now() / 1000).toFixed(3)} ${line}`),
    }),
  });
  await signIn(deps.paths, idc, SESSION);
  const engine = createDockerEngine({ env: {}, home: home.home });
  // Held by this process, as `sso-docker agent` holds it: `sso-docker status` then reads our state.
  const files = agentFiles(home.env, home.home, engine.host);
  const lock = await acquireAgentLock(files, engine.host);
  if (lock.kind !== "acquired") throw new Error(`an agent already runs for ${home.home}`);
  cleanups.push(() => lock.lock.release());
  agent = await startAgent(deps, {
    engine,
    openBrowser: false,
    stateFile: files.stateFile,
    retry: { baseMs: 500, maxMs: 5000 },
  });
  cleanups.push(() => agent.stop());
  events.attach(agent, ["pushed", "pushFailed", "noted", "refreshed", "fetchFailed"]);
  await agent.ready;
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (process.env["AGENT_TEST_LOG"]) console.info(logs.join("\n"));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function labelled(image: string, profiles: string): Promise<TestContainer> {
  return startContainer(image, {
    user: "dev",
    hostGateway: true,
    labels: await grantLabels(home.home, profiles),
  });
}

const assumeRoles = (roleArn: string) => idc.count("/", { operation: "AssumeRole", roleArn });

describe("role-chained profiles in containers", () => {
  it("20 containers asking for one chain under two names: one GetRoleCredentials, one AssumeRole per refresh round; status shows the chain", async () => {
    const key = supplyKey(await resolveProfile(deps, "c-many"));
    expect(supplyKey(await resolveProfile(deps, "c-many-alias"))).toBe(key);
    // Another chain from the same SSO role is another key.
    expect(supplyKey(await resolveProfile(deps, "c-app"))).not.toBe(key);
    const mark = history.length;
    const containers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => labelled(images.busybox, i % 2 === 0 ? "c-many" : "c-many-alias")),
    );
    const ids = new Set(containers.map((c) => c.id));
    await Promise.all(
      containers.map((c) =>
        waitFor("pushed", (e) => e.containerId === c.id, mark, 30_000, `first push to ${c.name}`),
      ),
    );
    // At least one whole round over all 20, then the count.
    await waitFor(
      "refreshed",
      (e) => e.identity === key && e.containers === 20,
      mark,
      30_000,
      "a refresh round over the 20 containers",
    );
    const rounds = history
      .slice(mark)
      .filter((h) => h.name === "refreshed" && (h.event as { identity: string }).identity === key).length;
    const pushes = history
      .slice(mark)
      .filter((h) => h.name === "pushed" && ids.has((h.event as { containerId: string }).containerId));
    console.info(
      `20 containers: ${rounds} round(s), ${pushes.length} pushes, AssumeRole ${assumeRoles(READONLY)}, GetRoleCredentials ${idc.count("/federation/credentials")}`,
    );
    expect(rounds).toBeGreaterThanOrEqual(1);
    expect({
      assumeRole: assumeRoles(READONLY),
      getRoleCredentials: idc.count("/federation/credentials"),
    }).toEqual({ assumeRole: 1 + rounds, getRoleCredentials: 1 });
    expect(pushes.length).toBeGreaterThanOrEqual(20);

    const chain = `c-many ← c-base (AssumeRole ${READONLY})`;
    const aliasChain = `c-many-alias ← c-base (AssumeRole ${READONLY})`;
    const snapshot = await agent.snapshot();
    const mine = snapshot.containers.filter((c) => ids.has(c.id));
    expect(mine).toHaveLength(20);
    for (const c of mine) expect(c.chains).toEqual([c.profiles[0] === "c-many" ? chain : aliasChain]);
    const status = await runCli(["status"], home.env);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toContain(`\nRole chains\n  ${chain}\n  ${aliasChain}`);
    await Promise.all(containers.map((c) => c.remove()));
  }, 60_000);

  it("a labelled container: the AWS CLI and boto3 sign as each chain's last role with the named profile's region; broken chains beside them get their reason through the helper, and the rest keep being refreshed", async () => {
    const mark = history.length;
    const c = await labelled(images.debianAws, "c-app,c-audit,c-loop-a,c-denied,c-wrong-id");
    const pushed = await waitFor("pushed", (e) => e.containerId === c.id, mark, 20_000, "the first push");
    expect(pushed.profiles).toEqual(["c-app", "c-audit"]);
    const noted = await waitFor(
      "noted",
      (e) => e.containerId === c.id && e.notes.length === 3,
      mark,
      20_000,
      "the notes of the three broken chains",
    );
    const notes = new Map(noted.notes.map((n) => [n.profile, n.text]));
    for (const { text } of noted.notes) expect(Array.from(text).length).toBeLessThanOrEqual(MAX_NOTE_CHARS);
    expect(notes.get("c-loop-a")).toMatch(
      NOTE(
        "c-loop-a",
        escape('Profile "c-loop-a" has a loop in source_profile: c-loop-a → c-loop-b → c-loop-a'),
      ),
    );
    expect(notes.get("c-denied")).toMatch(
      NOTE(
        "c-denied",
        escape(
          `STS denied AssumeRole of ${NOPE} for profile c-denied: User: arn:aws:sts::111111111111:assumed-role/ReadOnlyAccess/developer is not authorized`,
        ),
      ),
    );
    expect(notes.get("c-wrong-id")).toMatch(
      NOTE(
        "c-wrong-id",
        escape(
          `STS denied AssumeRole of ${AUDIT} for profile c-wrong-id: User: arn:aws:sts::444444444444:assumed-role/workload-deployer/c-app-session is not authorized`,
        ),
      ),
    );

    const cli = (profile: string) =>
      c.exec(awsCallerArn("--endpoint-url", endpoint, "--profile", profile), { user: "dev" });
    const boto3 = (profile: string) =>
      c.exec(["python3", "-c", PY_CALLER_IDENTITY, endpoint], { user: "dev", env: { AWS_PROFILE: profile } });
    const expected = {
      "c-app": "arn:aws:sts::444444444444:assumed-role/workload-deployer/c-app-session",
      "c-audit": "arn:aws:sts::555555555555:assumed-role/partner-audit/audit-session",
    };
    for (const [profile, arn] of Object.entries(expected)) {
      for (const result of [await cli(profile), await boto3(profile)]) {
        expect({ profile, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }).toEqual({
          profile,
          exitCode: 0,
          stdout: arn,
          stderr: "",
        });
      }
    }
    // The named profile's own region, not that of the SSO profile at the root (us-east-1).
    const region = await c.exec(["aws", "configure", "get", "region", "--profile", "c-app"], { user: "dev" });
    expect(region.stdout).toBe("eu-central-1");

    for (const profile of ["c-loop-a", "c-denied", "c-wrong-id"]) {
      const denied = await cli(profile);
      expect({ profile, exitCode: denied.exitCode, stdout: denied.stdout }).toEqual({
        profile,
        exitCode: 255,
        stdout: "",
      });
      expect(denied.stderr).toContain(`sso-docker: ${notes.get(profile) ?? "?"}`);
    }

    // The broken chains hold nothing up: the good ones are refreshed and pushed again.
    const appKey = supplyKey(await resolveProfile(deps, "c-app"));
    const round = history.length;
    await waitFor("refreshed", (e) => e.identity === appKey, round, 20_000, "a refresh round of c-app");
    await waitFor(
      "pushed",
      (e) => e.containerId === c.id && e.reason === "refresh",
      round,
      20_000,
      "the refreshed c-app pushed",
    );
    const again = await cli("c-app");
    expect({ exitCode: again.exitCode, stdout: again.stdout }).toEqual({
      exitCode: 0,
      stdout: expected["c-app"],
    });

    const status = await runCli(["status"], home.env);
    expect(status.exitCode, status.stderr).toBe(0);
    const row = status.stdout.split("\n").find((line) => line.includes(c.name)) ?? status.stdout;
    expect(row).toMatch(/the agent on the host cannot get credentials for profile c-/);
    expect(status.stdout).toContain(`\n  c-app ← c-base (AssumeRole ${DEPLOYER})\n`);
    expect(status.stdout).toContain(`\n  c-audit ← c-app ← c-base (AssumeRole ${DEPLOYER}, then ${AUDIT})`);
  }, 60_000);
});
