import { mkdir, readFile, writeFile } from "node:fs/promises";
import { agentFiles } from "../src/agent/agent-files.js";
import type { AgentStateFile } from "../src/agent/agent-state.js";
import { readAgentState } from "../src/agent/agent-state.js";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeIdc, SeededSession } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import type { TestHome } from "./cli-support.js";
import { assertBuilt, cliEnv, createHome, runCli, secretsOf, signIn } from "./cli-support.js";
import { awsCallerArn, PY_CALLER_IDENTITY } from "./run-support.js";
import type { TestContainer } from "./support/docker.js";
import { sweepTestContainersAfterAll } from "./support/docker.js";
import type { FakePlatform } from "./support/fake-platform.js";
import { createFakePlatform, STATES } from "./support/fake-platform.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";

// Issue 11: `sso-docker attach codespace:NAME` against a stand-in codespace on the real engine
// (OpenSSH's sshd in the container, reached through a fake `gh codespace ssh --stdio`), the
// built CLI in a temp HOME, the AWS CLI and boto3 inside signing against the fake IdC's STS.
sweepTestContainersAfterAll();

const SESSION = "attach-sso";
const config = (startUrl: string) => `[sso-session ${SESSION}]
sso_start_url = ${startUrl}
sso_region = us-east-1

[profile dev]
sso_session = ${SESSION}
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess
region = us-east-1

[profile stage]
sso_session = ${SESSION}
sso_account_id = 222222222222
sso_role_name = PowerUserAccess
region = eu-west-1

[profile other]
sso_session = ${SESSION}
sso_account_id = 111111111111
sso_role_name = AdministratorAccess
`;

const DEV_ARN = "arn:aws:sts::111111111111:assumed-role/ReadOnlyAccess/developer";
const STAGE_ARN = "arn:aws:sts::222222222222:assumed-role/PowerUserAccess/developer";
const SECRET_DIR = "/run/sso-docker/secrets";

let idc: FakeIdc;
let home: TestHome;
let platform: FakePlatform;
let env: Record<string, string>;
let endpoint: string;
let seeded: SeededSession;
const cleanups: (() => PromiseLike<unknown>)[] = [];

beforeAll(async () => {
  assertBuilt();
  idc = await startFakeIdc({ host: "0.0.0.0" });
  cleanups.push(() => idc.close());
  endpoint = `http://host.docker.internal:${new URL(idc.url).port}`;
  home = await createHome();
  cleanups.push(() => home[Symbol.asyncDispose]());
  await mkdir(join(home.home, ".aws"), { recursive: true });
  await writeFile(home.configFile, config(idc.startUrl));
  seeded = await signIn(home, idc, SESSION);
  platform = await createFakePlatform();
  cleanups.push(() => platform[Symbol.asyncDispose]());
  env = cliEnv(home, idc, { PATH: `${platform.binDir}:${process.env["PATH"] ?? "/usr/bin:/bin"}` });
  // attach starts the background agent; it must not outlive the file.
  cleanups.push(() => runCli(["agent", "stop"], env));
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A target as its devcontainer.json would make it: `runArgs: ["--tmpfs", "/run/sso-docker"]`. */
function addTarget(target: string, tmpfs = true): Promise<TestContainer> {
  return platform.add(target, {
    hostGateway: true,
    ...(tmpfs ? { tmpfs: ["/run/sso-docker"] } : { args: ["--ipc", "none"] }),
  });
}

const attach = (target: string, ...profiles: string[]) => attachWith(env, target, ...profiles);
const attachWith = (cliEnvironment: Record<string, string>, target: string, ...profiles: string[]) =>
  runCli(
    [
      "attach",
      target,
      ...profiles.flatMap((p) => ["--profile", p]),
      "--ssh-user",
      "dev",
      "--identity-file",
      platform.keyFile,
    ],
    cliEnvironment,
  );

const cli = (c: TestContainer, profile: string) =>
  c.exec(awsCallerArn("--endpoint-url", endpoint, "--profile", profile), { user: "dev" });
const boto3 = (c: TestContainer, profile: string) =>
  c.exec(["python3", "-c", PY_CALLER_IDENTITY, endpoint], { user: "dev", env: { AWS_PROFILE: profile } });

/** The SSO session's secrets and every role secret pushed so far (read back from the targets). */
const pushedSecrets: string[] = [];
function expectNoSecrets(text: string): void {
  for (const secret of [...secretsOf(seeded), ...pushedSecrets]) expect(text).not.toContain(secret);
}
async function collectSecrets(c: TestContainer): Promise<void> {
  const file = await c.exec(["cat", `${SECRET_DIR}/credentials`], { user: "0" });
  const found = [...file.stdout.matchAll(/^aws_(?:secret_access_key|session_token) = (\S+)$/gm)].map(
    (m) => m[1] ?? "",
  );
  expect(found.length).toBeGreaterThanOrEqual(2);
  pushedSecrets.push(...found);
}

/** The access key id the target holds for a profile (the id is no secret). */
async function accessKeyIn(c: TestContainer): Promise<string> {
  const file = await c.exec(["cat", `${SECRET_DIR}/credentials`], { user: "0" });
  return /^aws_access_key_id = (\S+)$/m.exec(file.stdout)?.[1] ?? "";
}

/** The agent's state file once it satisfies `ok`: it is rewritten on every change (bounded wait). */
async function untilState(file: string, ok: (s: AgentStateFile) => boolean): Promise<AgentStateFile> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = await readAgentState(file);
    if (state !== undefined && ok(state)) return state;
    if (Date.now() > deadline)
      throw new Error(`${file} did not get there within 20 s: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The listening TCP sockets in the target's network namespace, as `ss -ltn` lists them (the
 * stand-in has no ss): local address and port of each socket in state 0A (LISTEN).
 */
async function listeningSockets(c: TestContainer): Promise<string[]> {
  const out = await c.exec(
    ["sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 | awk '$4 == \"0A\" { print $2 }' | sort"],
    { user: "0" },
  );
  expect(out.exitCode, out.stderr).toBe(0);
  return out.stdout.split("\n").filter(Boolean);
}

describe("sso-docker attach codespace:NAME (issue 11)", () => {
  it("pushes only the named profiles, as 0600 files of the ssh user on a tmpfs, that the AWS CLI and boto3 sign with", async () => {
    const c = await addTarget("codespace:cs-main");
    // An sshd that listens would show here: the stand-in's runs on stdio only, as a push needs.
    const listeningBefore = await listeningSockets(c);
    const attached = await attach("codespace:cs-main", "dev", "stage");
    expect(attached.exitCode, attached.stderr).toBe(0);
    expect(attached.stderr).toContain(
      `Attached codespace:cs-main: pushed dev, stage into ${SECRET_DIR} (uid 1000)`,
    );
    await collectSecrets(c);
    expectNoSecrets(attached.stdout + attached.stderr);

    // The fake's STS answers only a SigV4 signature made with a key it issued for that role.
    const signed = idc.requests.filter((r) => r.operation === "GetCallerIdentity" && r.status === 200).length;
    expect((await cli(c, "dev")).stdout.trim()).toBe(DEV_ARN);
    expect((await boto3(c, "stage")).stdout.trim()).toBe(STAGE_ARN);
    expect(idc.requests.filter((r) => r.operation === "GetCallerIdentity" && r.status === 200).length).toBe(
      signed + 2,
    );

    const files = await c.exec(
      [
        "sh",
        "-c",
        `stat -c '%a %U %n' ${SECRET_DIR}/* && awk '$2=="/run/sso-docker"{print $3}' /proc/mounts`,
      ],
      { user: "0" },
    );
    const lines = files.stdout.trim().split("\n");
    expect(lines.pop()).toBe("tmpfs");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^600 dev \//);
    expect(lines.some((l) => l.includes("other"))).toBe(false);
    const profiles = await c.exec(["aws", "configure", "list-profiles"], { user: "dev" });
    expect(profiles.stdout.trim().split("\n").sort()).toEqual(["default", "dev", "stage"]);
    // the first named profile is the target's default
    expect((await c.exec(awsCallerArn("--endpoint-url", endpoint), { user: "dev" })).stdout.trim()).toBe(
      DEV_ARN,
    );
    const unnamed = await cli(c, "other");
    expect(unnamed.exitCode).not.toBe(0);
    // nothing listens in the target after a push (nor did the AWS CLI leave a server behind)
    expect(await listeningSockets(c)).toEqual(listeningBefore);

    // the platform was asked before connecting, and only through its own commands
    const calls = await platform.calls();
    expect(calls[0]).toBe("gh codespace view -c cs-main --json state");
    expect(calls).toContain("gh codespace ssh -c cs-main --stdio");
    const store = await readFile(join(home.home, ".sso-docker", "remote-targets.json"), "utf8");
    expect(store).toContain('"target": "codespace:cs-main"');
    expectNoSecrets(store);

    // status lists it from the store, asking the platform nothing
    const callsBefore = (await platform.calls()).length;
    const status = await runCli(["status"], env);
    expect(status.stdout).toMatch(
      /Remote targets.*\n.*TARGET.*\n\s+codespace:cs-main\s+dev,stage\s+dev\s+(available|not served yet)\s/,
    );
    expect((await platform.calls()).length).toBe(callsBefore);
  }, 90_000);

  it("refuses a target with no tmpfs for the credentials, and writes nothing there", async () => {
    const c = await addTarget("codespace:cs-disk", false);
    const attached = await attach("codespace:cs-disk", "dev");
    expect(attached.exitCode).not.toBe(0);
    expect(attached.stderr).toContain("codespace:cs-disk has no tmpfs for credentials");
    expect(attached.stderr).toContain("nothing was written");
    expect(attached.stderr).toContain('"runArgs": ["--tmpfs", "/run/sso-docker"]');
    expectNoSecrets(attached.stdout + attached.stderr);
    const left = await c.exec(
      [
        "sh",
        "-c",
        "ls -d /dev/shm/sso-docker /run/sso-docker /etc/sso-docker 2>/dev/null; find / -xdev -newer /etc/hostname -path '*sso-docker*' 2>/dev/null",
      ],
      { user: "0" },
    );
    expect(left.stdout.trim()).toBe("");
    const store = await readFile(join(home.home, ".sso-docker", "remote-targets.json"), "utf8").catch(
      () => "",
    );
    expect(store).not.toContain("cs-disk");
  }, 60_000);

  it("refuses a rebuilt target (new host key) until it is re-attached, and detach wipes the credentials", async () => {
    const c = await addTarget("codespace:cs-rebuilt");
    expect((await attach("codespace:cs-rebuilt", "dev")).exitCode).toBe(0);
    expect((await cli(c, "dev")).stdout.trim()).toBe(DEV_ARN);

    await platform.rekey("codespace:cs-rebuilt");
    // Read after the rekey: from here on neither attach nor the background agent gets in.
    const before = await c.exec(["sh", "-c", `cat ${SECRET_DIR}/credentials | sha256sum`], { user: "0" });
    const refused = await attach("codespace:cs-rebuilt", "dev");
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain(
      "The host key of codespace:cs-rebuilt is not the one pinned when it was attached",
    );
    expect(refused.stderr).toContain("re-attach it: `sso-docker detach codespace:cs-rebuilt`");
    const after = await c.exec(["sh", "-c", `cat ${SECRET_DIR}/credentials | sha256sum`], { user: "0" });
    expect(after.stdout).toBe(before.stdout);

    const detached = await runCli(["detach", "codespace:cs-rebuilt"], env);
    // the pinned key is the old one: detach sends nothing, forgets the target and says why
    expect(detached.exitCode, detached.stderr).toBe(0);
    expect(detached.stderr).toContain(
      "Detached codespace:cs-rebuilt and forgot its host key, but could not remove its credentials: The host key of codespace:cs-rebuilt is not the one pinned",
    );
    const again = await attach("codespace:cs-rebuilt", "dev");
    expect(again.exitCode, again.stderr).toBe(0);

    const wiped = await runCli(["detach", "codespace:cs-rebuilt"], env);
    expect(wiped.exitCode, wiped.stderr).toBe(0);
    expect(wiped.stderr).toContain("Detached codespace:cs-rebuilt and removed its credentials.");
    const gone = await c.exec(["sh", "-c", `ls -A ${SECRET_DIR} 2>&1; true`], { user: "0" });
    expect(gone.stdout).not.toMatch(/credentials|dev/);
    expect((await cli(c, "dev")).exitCode).not.toBe(0);
    const store = await readFile(join(home.home, ".sso-docker", "remote-targets.json"), "utf8");
    expect(store).not.toContain("cs-rebuilt");
  }, 90_000);

  it.each([
    [
      "devpod",
      "ws-devpod",
      "devpod status ws-devpod --output json",
      "devpod ssh --stdio --start-services=false --user dev ws-devpod",
    ],
    ["coder", "ws-coder", "coder list --output json", "coder ssh --stdio --disable-autostart ws-coder"],
  ] as const)(
    "attach %s:WS pushes through the platform's --stdio connect, and a stopped workspace is neither connected to nor started",
    async (platformName, name, stateCall, sshCall) => {
      const target = `${platformName}:${name}`;
      const c = await addTarget(target);
      const cliCalls = async () => (await platform.calls()).filter((l) => l.startsWith(`${platformName} `));
      const sshCalls = async () => (await cliCalls()).filter((l) => l.startsWith(`${platformName} ssh`));
      const from = (await cliCalls()).length;
      const attached = await attach(target, "dev");
      expect(attached.exitCode, attached.stderr).toBe(0);
      expect(attached.stderr).toContain(`Attached ${target}: pushed dev into ${SECRET_DIR} (uid 1000)`);
      await collectSecrets(c);
      expectNoSecrets(attached.stdout + attached.stderr);
      expect((await cli(c, "dev")).stdout.trim()).toBe(DEV_ARN);
      // asked first, then connected only through the one connect command, with its flags every time
      const calls = (await cliCalls()).slice(from);
      expect(calls[0]).toBe(stateCall);
      expect(calls).toContain(sshCall);
      for (const call of await sshCalls()) expect(call).toBe(sshCall);

      await platform.setState(target, STATES[platformName].stopped);
      const sshWhileStopped = (await sshCalls()).length;
      const again = await attach(target, "dev");
      expect(again.exitCode).not.toBe(0);
      expect(again.stderr).toContain(`${target} is stopped; sso-docker does not start it.`);
      const detached = await runCli(["detach", target], env);
      expect(detached.exitCode, detached.stderr).toBe(0);
      expect(detached.stderr).toContain(
        `Detached ${target}; it is not running, so its tmpfs holds nothing now.`,
      );
      expect((await sshCalls()).length).toBe(sshWhileStopped);
      // the fake coder starts a stopped workspace on any ssh without --disable-autostart
      expect(await platform.state(target)).toBe(STATES[platformName].stopped);
    },
    60_000,
  );

  it("logout removes the credentials from every running attached target and connects to no stopped one", async () => {
    const running = await addTarget("codespace:cs-running");
    const stopped = await addTarget("codespace:cs-stopped");
    expect((await attach("codespace:cs-running", "dev")).exitCode).toBe(0);
    expect((await attach("codespace:cs-stopped", "stage")).exitCode).toBe(0);
    await collectSecrets(running);
    await platform.setState("codespace:cs-stopped", STATES.codespace.stopped);
    const sshToStopped = (await platform.calls()).filter(
      (c) => c === "gh codespace ssh -c cs-stopped --stdio",
    );

    const out = await runCli(["logout"], env);
    expect(out.stderr).toContain(
      "Removed credentials from 2 remote target(s): codespace:cs-main, codespace:cs-running.",
    );
    expect(out.stderr).toContain(
      "Not connecting to 1 remote target(s) that are not running (they hold nothing): codespace:cs-stopped.",
    );
    expectNoSecrets(out.stdout + out.stderr);
    for (const c of [running]) {
      const left = await c.exec(["sh", "-c", `ls -A ${SECRET_DIR} 2>/dev/null | wc -l`], { user: "0" });
      expect(left.stdout.trim()).toBe("0");
      expect((await cli(c, "dev")).exitCode).not.toBe(0);
    }
    expect((await platform.calls()).filter((c) => c === "gh codespace ssh -c cs-stopped --stdio")).toEqual(
      sshToStopped,
    );
    // (the stopped one still holds what it had: a real stop empties its tmpfs, the stand-in's did not stop)
    expect(
      (await stopped.exec(["sh", "-c", `ls ${SECRET_DIR} | wc -l`], { user: "0" })).stdout.trim(),
    ).not.toBe("0");
  }, 90_000);

  it("never connects to a stopped codespace, and refuses a target name that ssh or a shell would read as more", async () => {
    await platform.setState("codespace:cs-off", STATES.codespace.stopped);
    const off = await attach("codespace:cs-off", "dev");
    expect(off.exitCode).not.toBe(0);
    expect(off.stderr).toContain("codespace:cs-off is stopped; sso-docker does not start it.");
    expect((await platform.calls()).filter((c) => c.includes("cs-off"))).toEqual([
      "gh codespace view -c cs-off --json state",
    ]);

    // The name lands in ssh's ProxyCommand, which a shell runs: nothing of it may run.
    const marker = join(home.home, "pwned");
    for (const name of [`x;touch ${marker}`, `$(touch ${marker})`, "-oProxyCommand=touch", "x y", "x%h"]) {
      const bad = await attach(`codespace:${name}`, "dev");
      expect(bad.exitCode).not.toBe(0);
      expect(bad.stderr).toContain("is not a codespace name sso-docker can connect to");
    }
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
    expect((await platform.calls()).some((c) => c.includes("touch") || c.includes("ProxyCommand"))).toBe(
      false,
    );
  }, 30_000);

  it("serves attached targets with no Docker engine at all: agent --detach succeeds, status says so first and shows each target's last push", async () => {
    const c = await addTarget("codespace:cs-away");
    // A laptop with no Docker: a HOME of its own whose DOCKER_HOST names a socket that does not exist.
    const laptop = await createHome();
    cleanups.push(() => laptop[Symbol.asyncDispose]());
    await mkdir(join(laptop.home, ".aws"), { recursive: true });
    await writeFile(laptop.configFile, config(idc.startUrl));
    await signIn(laptop, idc, SESSION);
    const noEngine = "unix:///nonexistent/docker.sock";
    const away = cliEnv(laptop, idc, {
      PATH: `${platform.binDir}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
      DOCKER_HOST: noEngine,
    });
    cleanups.push(() => runCli(["agent", "stop"], away));
    const unreachable = `Cannot reach the Docker engine at ${noEngine}.`;

    // `run` still refuses at once, and starts no agent.
    const run = await runCli(["run", "--profile", "dev", "--rm", "some-image", "true"], away);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain(unreachable);
    expect((await runCli(["agent", "stop"], away)).stdout).toContain("No sso-docker agent is running");

    // Neither an engine nor a target: the agent runs and says it has nothing to do yet.
    const lone = await runCli(["agent", "--detach"], away);
    expect(lone.exitCode, lone.stderr).toBe(0);
    expect(lone.stdout).toContain(
      `No Docker engine answers at ${noEngine}: the agent follows it once it does, and no remote target is attached`,
    );
    expect((await runCli(["agent", "stop"], away)).exitCode).toBe(0);

    const attached = await attachWith(away, "codespace:cs-away", "dev");
    expect(attached.exitCode, attached.stderr).toBe(0);
    const attachKey = await accessKeyIn(c);
    expect(attachKey).toMatch(/^ASIA/);
    expect((await runCli(["agent", "stop"], away)).exitCode).toBe(0);
    const started = await runCli(["agent", "--detach"], away);
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout).toContain("it serves the 1 attached remote target(s) meanwhile");
    const pid = Number(/\(pid (\d+)\)/.exec(started.stdout)?.[1]);

    // Its first round pushes credentials of its own (a fetch of its own: another key).
    const stateFile = agentFiles(away, laptop.home, noEngine).stateFile;
    const state = await untilState(
      stateFile,
      (s) => s.pid === pid && s.remoteTargets?.[0]?.lastPush !== undefined,
    );
    expect(state.connected).toBe(false);
    expect(state.remoteTargets?.[0]).toMatchObject({
      target: "codespace:cs-away",
      profiles: ["dev"],
      state: "available",
    });
    const agentKey = await accessKeyIn(c);
    expect(agentKey).not.toBe(attachKey);
    expect((await cli(c, "dev")).stdout.trim()).toBe(DEV_ARN);

    const status = await runCli(["status"], away);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout.split("\n")[0]).toBe(`Engine: ${unreachable}`);
    expect(status.stdout).toContain("no engine answers (trying again; remote targets are served meanwhile)");
    const row = status.stdout.split("\n").find((l) => l.trimStart().startsWith("codespace:cs-away"));
    expect(row).toMatch(/^ {2}codespace:cs-away\s+dev\s+dev\s+available\s+\S+Z \(\d+s ago\)\s+\S+Z \(in \d+/);
    expect(row).toContain(state.remoteTargets?.[0]?.lastPush);
  }, 40_000);
});
