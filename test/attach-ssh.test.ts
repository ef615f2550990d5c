import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeIdc, SeededSession } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import type { TestHome } from "./cli-support.js";
import { assertBuilt, cliEnv, createHome, runCli, secretsOf, signIn } from "./cli-support.js";
import { awsCallerArn } from "./run-support.js";
import type { TestContainer } from "./support/docker.js";
import { sweepTestContainersAfterAll } from "./support/docker.js";
import type { FakePlatform } from "./support/fake-platform.js";
import { createFakePlatform } from "./support/fake-platform.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";

// Issue 11: `sso-docker attach ssh:HOST` against a real sshd listening on a container's bridge
// address, named only by an alias of the user's ssh config (HostName, Port, User, IdentityFile,
// and a RemoteCommand for interactive logins): no --ssh-user, no -i, no platform CLI. The AWS CLI
// inside signs against the fake IdC's STS.
sweepTestContainersAfterAll();

const SESSION = "attach-ssh-sso";
const config = (startUrl: string) => `[sso-session ${SESSION}]
sso_start_url = ${startUrl}
sso_region = us-east-1

[profile dev]
sso_session = ${SESSION}
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess
region = us-east-1

[profile other]
sso_session = ${SESSION}
sso_account_id = 111111111111
sso_role_name = AdministratorAccess
`;

const DEV_ARN = "arn:aws:sts::111111111111:assumed-role/ReadOnlyAccess/developer";
const SECRET_DIR = "/run/sso-docker/secrets";
const ALIAS = "build-box";
const TARGET = `ssh:${ALIAS}`;

let idc: FakeIdc;
let home: TestHome;
let platform: FakePlatform;
let env: Record<string, string>;
let endpoint: string;
let seeded: SeededSession;
let box: TestContainer;
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
  box = await platform.addSshHost(ALIAS, {
    hostGateway: true,
    tmpfs: ["/run/sso-docker"],
    // The alias as it is written for working there: every login lands in a terminal multiplexer.
    config: ["RequestTTY yes", "RemoteCommand exec tmux new-session -A -s main"],
  });
  env = cliEnv(home, idc, { PATH: `${platform.binDir}:${process.env["PATH"] ?? "/usr/bin:/bin"}` });
  // attach starts the background agent; it must not outlive the file.
  cleanups.push(() => runCli(["agent", "stop"], env));
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const attach = () => runCli(["attach", TARGET, "--profile", "dev"], env);
const awsCli = (profile: string) =>
  box.exec(awsCallerArn("--endpoint-url", endpoint, "--profile", profile), { user: "dev" });
const credentialsHash = async () =>
  (await box.exec(["sh", "-c", `sha256sum ${SECRET_DIR}/credentials`], { user: "0" })).stdout;

function expectNoSecrets(text: string): void {
  for (const secret of secretsOf(seeded)) expect(text).not.toContain(secret);
}

/** The host's public keys, as `TYPE BASE64` lines. */
async function hostKeys(): Promise<string[]> {
  const keys = await box.exec(["sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"], { user: "0" });
  return keys.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ").slice(0, 2).join(" "));
}

describe("sso-docker attach ssh:HOST through an alias of the user's ssh config (issue 11)", () => {
  it("pins the host key in its own known_hosts, pushes what the AWS CLI signs with, refuses a new host key, and detach wipes", async () => {
    const attached = await attach();
    expect(attached.exitCode, attached.stderr).toBe(0);
    expect(attached.stderr).toContain(`Attached ${TARGET}: pushed dev into ${SECRET_DIR} (uid 1000)`);
    expectNoSecrets(attached.stdout + attached.stderr);

    // Pinned under sso-docker's name for the target, with one of the host's own keys; ~/.ssh untouched.
    const pinned = (await readFile(join(home.home, ".sso-docker", "known_hosts"), "utf8"))
      .split("\n")
      .filter(Boolean);
    expect(pinned).toHaveLength(1);
    const [name, ...key] = (pinned[0] ?? "").split(" ");
    expect(name).toBe(`sso-docker.ssh.${ALIAS}`);
    expect(await hostKeys()).toContain(key.join(" "));
    await expect(readFile(join(home.home, ".ssh", "known_hosts"))).rejects.toThrow(/ENOENT/);

    // The fake's STS answers only a SigV4 signature made with a key it issued for that role.
    const signed = () =>
      idc.requests.filter((r) => r.operation === "GetCallerIdentity" && r.status === 200).length;
    const before = signed();
    expect((await awsCli("dev")).stdout.trim()).toBe(DEV_ARN);
    expect(signed()).toBe(before + 1);
    expect((await awsCli("other")).exitCode).not.toBe(0);
    const files = await box.exec(
      ["sh", "-c", `stat -c '%a %U' ${SECRET_DIR}/* && awk '$2=="/run/sso-docker"{print $3}' /proc/mounts`],
      { user: "0" },
    );
    const lines = files.stdout.trim().split("\n");
    expect(lines.pop()).toBe("tmpfs");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toBe("600 dev");

    // A reinstalled host: neither attach nor the background agent gets in, and nothing changes.
    await platform.rekey(`ssh:${ALIAS}`);
    const held = await credentialsHash();
    const refused = await attach();
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain(`The host key of ${TARGET} is not the one pinned when it was attached`);
    expect(refused.stderr).toContain(`re-attach it: \`sso-docker detach ${TARGET}\``);
    expect(await credentialsHash()).toBe(held);

    const forgotten = await runCli(["detach", TARGET], env);
    expect(forgotten.exitCode, forgotten.stderr).toBe(0);
    expect(forgotten.stderr).toContain(
      `Detached ${TARGET} and forgot its host key, but could not remove its credentials: The host key of ${TARGET} is not the one pinned`,
    );
    const again = await attach();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await hostKeys()).toContain(
      (await readFile(join(home.home, ".sso-docker", "known_hosts"), "utf8"))
        .trim()
        .split(" ")
        .slice(1)
        .join(" "),
    );

    const detached = await runCli(["detach", TARGET], env);
    expect(detached.exitCode, detached.stderr).toBe(0);
    expect(detached.stderr).toContain(`Detached ${TARGET} and removed its credentials.`);
    const left = await box.exec(["sh", "-c", `ls -A ${SECRET_DIR} | wc -l`], { user: "0" });
    expect(left.stdout.trim()).toBe("0");
    expect((await awsCli("dev")).exitCode).not.toBe(0);
    const store = await readFile(join(home.home, ".sso-docker", "remote-targets.json"), "utf8");
    expect(store).not.toContain(ALIAS);
  }, 60_000);
});
