import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { seedToken } from "../../test/cli-support.js";
import { makeTestHome } from "../../test/support/host.js";
import { startFakeIdc, type FakeIdc } from "../fake-idc/index.js";
import { FakeClock } from "../runtime/clock.js";
import { CredentialSource } from "./credential-source.js";
import { resolveProfile } from "./resolve-profile.js";

const DEPLOYER = "arn:aws:iam::444444444444:role/deployer";
const AUDIT = "arn:aws:iam::555555555555:role/audit";

function config(idc: FakeIdc): string {
  return `[sso-session corp]
sso_start_url = ${idc.startUrl}
sso_region = us-east-1

[profile base]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess

[profile mid]
role_arn = ${DEPLOYER}
source_profile = base

[profile app]
role_arn = ${AUDIT}
source_profile = mid
`;
}

async function setUp(clock: FakeClock) {
  const idc = await startFakeIdc({
    clock,
    iamRoles: [
      { accountId: "444444444444", roleName: "deployer" },
      { accountId: "555555555555", roleName: "audit" },
    ],
  });
  const home = await makeTestHome({ config: config(idc), endpointEnv: idc.endpointEnv() });
  const deps = home.deps({ clock });
  await seedToken(
    deps.paths,
    { sessionName: "corp", startUrl: idc.startUrl, region: "us-east-1" },
    idc.createSession(),
  );
  return { idc, home, deps };
}

const counts = (idc: FakeIdc) => ({
  getRoleCredentials: idc.count("/federation/credentials"),
  deployer: idc.count("/", { operation: "AssumeRole", roleArn: DEPLOYER }),
  audit: idc.count("/", { operation: "AssumeRole", roleArn: AUDIT }),
});

describe("role chains in one long-running process (the agent's use)", () => {
  it("twenty callers at once share one GetRoleCredentials and one AssumeRole per step, and a refresh makes one more of each", async () => {
    const clock = new FakeClock();
    const { idc, home, deps } = await setUp(clock);
    await using _idc = idc;
    await using _home = home;
    const source = new CredentialSource(deps, { useCliCache: false });
    const resolved = await resolveProfile(deps, "app");

    const first = await Promise.all(Array.from({ length: 20 }, () => source.get(resolved)));
    expect(new Set(first.map((c) => c.accessKeyId)).size).toBe(1);
    expect(counts(idc)).toEqual({ getRoleCredentials: 1, deployer: 1, audit: 1 });
    expect(idc.issuedCredentials().find((c) => c.accessKeyId === first[0]?.accessKeyId)).toMatchObject({
      accountId: "555555555555",
      roleName: "audit",
    });

    // Still fresh: memory answers.
    await Promise.all(Array.from({ length: 20 }, () => source.get(resolved)));
    expect(counts(idc)).toEqual({ getRoleCredentials: 1, deployer: 1, audit: 1 });

    // Past the refresh window of all three: one call each again, however many ask.
    clock.advance(50 * 60_000);
    const second = await Promise.all(Array.from({ length: 20 }, () => source.get(resolved)));
    expect(new Set(second.map((c) => c.accessKeyId)).size).toBe(1);
    expect(second[0]?.accessKeyId).not.toBe(first[0]?.accessKeyId);
    expect(counts(idc)).toEqual({ getRoleCredentials: 2, deployer: 2, audit: 2 });
    // useCliCache: false writes nothing.
    expect(existsSync(join(home.home, ".aws", "cli"))).toBe(false);
  });

  it("a plain SSO profile and a chain rooted in it share the SSO role's fetch, and stay apart in memory", async () => {
    const clock = new FakeClock();
    const { idc, home, deps } = await setUp(clock);
    await using _idc = idc;
    await using _home = home;
    const source = new CredentialSource(deps, { useCliCache: false });
    const [base, app] = await Promise.all([resolveProfile(deps, "base"), resolveProfile(deps, "app")]);
    const [fromBase, fromApp] = await Promise.all([source.get(base), source.get(app)]);
    expect(fromApp.accessKeyId).not.toBe(fromBase.accessKeyId);
    expect(counts(idc)).toEqual({ getRoleCredentials: 1, deployer: 1, audit: 1 });
    expect(await source.cached(app)).toEqual(fromApp);
    source.forget(app);
    expect(await source.cached(app)).toBeUndefined();
    expect(await source.cached(base)).toBeUndefined();
  });
});
