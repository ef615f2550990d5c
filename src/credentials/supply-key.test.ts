import { describe, expect, it } from "vitest";
import { makeTestHome } from "../../test/support/host.js";
import { describeChain, isChainFault, outputSettings, resolveProfile } from "./resolve-profile.js";
import { identityKey } from "./role-credentials.js";
import { supplyKey } from "./supply-key.js";

const DEPLOYER = "arn:aws:iam::444444444444:role/deployer";

const CONFIG = `[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1

[profile base]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess
region = us-east-1
output = text

[profile other-base]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = PowerUserAccess

[profile app]
role_arn = ${DEPLOYER}
source_profile = base
role_session_name = ci
region = eu-central-1

[profile app-alias]
role_arn = ${DEPLOYER}
source_profile = base
role_session_name = ci
output = json

[profile app-other-session]
role_arn = ${DEPLOYER}
source_profile = base
role_session_name = other

[profile app-external]
role_arn = ${DEPLOYER}
source_profile = base
role_session_name = ci
external_id = partner-1

[profile app-short]
role_arn = ${DEPLOYER}
source_profile = base
role_session_name = ci
duration_seconds = 900

[profile app-other-source]
role_arn = ${DEPLOYER}
source_profile = other-base
role_session_name = ci

[profile audit]
role_arn = arn:aws:iam::555555555555:role/audit
source_profile = app

[profile loop-a]
role_arn = ${DEPLOYER}
source_profile = loop-b

[profile loop-b]
role_arn = ${DEPLOYER}
source_profile = loop-a

[profile kept-loop]
role_arn = ${DEPLOYER}
source_profile = loop-a
sso_docker_containers = false
`;

describe("supply keys: one fetch per set of credentials", () => {
  it("the same AssumeRole request under two names is one key; another session name, external id, duration or source is another", async () => {
    await using home = await makeTestHome({ config: CONFIG });
    const deps = home.deps();
    const key = async (name: string) => supplyKey(await resolveProfile(deps, name, { forContainer: true }));
    const app = await key("app");
    expect(await key("app-alias")).toBe(app);
    const others = await Promise.all(
      ["base", "app-other-session", "app-external", "app-short", "app-other-source", "audit"].map(key),
    );
    expect(new Set([app, ...others]).size).toBe(7);
    // A plain SSO profile keeps the key it always had.
    const base = await resolveProfile(deps, "base");
    expect(supplyKey(base)).toBe(identityKey(base.identity));
  });

  it("a chain's container settings are the named profile's own, and it describes itself for status", async () => {
    await using home = await makeTestHome({ config: CONFIG });
    const deps = home.deps();
    const [base, app, alias, audit] = await Promise.all(
      ["base", "app", "app-alias", "audit"].map((name) => resolveProfile(deps, name, { forContainer: true })),
    );
    expect(outputSettings(base!)).toEqual({ region: "us-east-1", output: "text" });
    expect(outputSettings(app!)).toEqual({ region: "eu-central-1" });
    expect(outputSettings(alias!)).toEqual({ output: "json" });
    expect(describeChain(base!)).toBeUndefined();
    expect(describeChain(app!)).toBe(`app ← base (AssumeRole ${DEPLOYER})`);
    expect(describeChain(audit!)).toBe(
      `audit ← app ← base (AssumeRole ${DEPLOYER}, then arn:aws:iam::555555555555:role/audit)`,
    );
  });

  it("a broken chain is that profile's fault alone; a profile kept out of containers is refused as such first", async () => {
    await using home = await makeTestHome({ config: CONFIG });
    const deps = home.deps();
    const failure = (name: string) =>
      resolveProfile(deps, name, { forContainer: true }).then(
        () => undefined,
        (err: unknown) => err,
      );
    const loop = await failure("loop-a");
    expect((loop as Error).message).toContain("has a loop in source_profile");
    expect(isChainFault(loop)).toBe(true);
    const kept = await failure("kept-loop");
    expect((kept as Error).message).toContain("is kept out of containers");
    expect(isChainFault(kept)).toBe(false);
    const missing = await failure("no-such-profile");
    expect(isChainFault(missing)).toBe(false);
  });
});
