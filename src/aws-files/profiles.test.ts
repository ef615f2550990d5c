import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSharedConfigFiles } from "@smithy/shared-ini-file-loader";
import { describe, expect, it } from "vitest";
import { ConfigError, ProfileError } from "../runtime/errors.js";
import type { SsoDockerError } from "../runtime/errors.js";
import { parseAwsConfig } from "./config-read.js";
import {
  allowsContainers,
  assertAllowedInContainers,
  listSsoProfiles,
  listSsoSessions,
  parseRegistrationScopes,
  resolveSsoProfile,
  resolveSsoSession,
  selectProfileName,
} from "./profiles.js";

const FILE = "/home/u/.aws/config";
const CONFIG = parseAwsConfig(
  `[default]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = ReadOnly
region = eu-west-1
output = json

[profile dev.admin]
sso_session = corp
sso_account_id = 444455556666
sso_role_name = Admin

[profile scoped]
sso_session = scoped
sso_account_id = 1
sso_role_name = R

[profile legacy]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-west-2
sso_account_id = 777788889999
sso_role_name = Dev

[profile plain]
region = us-east-1

[profile no-session]
sso_session = missing
sso_account_id = 1
sso_role_name = R

[profile incomplete]
sso_session = corp

[profile legacy-incomplete]
sso_start_url = https://x/start

[profile mismatch]
sso_session = corp
sso_start_url = https://other.awsapps.com/start
sso_account_id = 1
sso_role_name = R

[profile agrees]
sso_session = corp
sso_start_url = https://corp.awsapps.com/start#/
sso_region = us-east-1
sso_account_id = 1
sso_role_name = R

[profile bad-session]
sso_session = half
sso_account_id = 1
sso_role_name = R

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start#/
sso_region = us-east-1

[sso-session scoped]
sso_start_url = https://scoped.awsapps.com/start
sso_region = eu-central-1
sso_registration_scopes = sso:account:access, codewhisperer:completions ,

[sso-session half]
sso_region = us-east-1
`,
  FILE,
);

function errorOf(fn: () => unknown): SsoDockerError {
  try {
    fn();
  } catch (err) {
    return err as SsoDockerError;
  }
  throw new Error("expected an error");
}

describe("selectProfileName", () => {
  it("prefers --profile, then AWS_PROFILE, then AWS_DEFAULT_PROFILE, then default", () => {
    const env = { AWS_PROFILE: "env", AWS_DEFAULT_PROFILE: "old" };
    expect(selectProfileName({ flag: "flag", env })).toBe("flag");
    expect(selectProfileName({ env })).toBe("env");
    expect(selectProfileName({ flag: "", env: { AWS_PROFILE: "", AWS_DEFAULT_PROFILE: "old" } })).toBe("old");
    expect(selectProfileName({ flag: undefined, env: {} })).toBe("default");
  });
});

describe("resolveSsoProfile", () => {
  it("resolves [default] through its sso-session, with the default registration scope", () => {
    expect(resolveSsoProfile(CONFIG, "default", FILE)).toEqual({
      kind: "sso-session",
      profileName: "default",
      sessionName: "corp",
      startUrl: "https://corp.awsapps.com/start#/",
      ssoRegion: "us-east-1",
      scopes: ["sso:account:access"],
      accountId: "111122223333",
      roleName: "ReadOnly",
      region: "eu-west-1",
      output: "json",
    });
  });

  it("resolves a dotted profile name", () => {
    const profile = resolveSsoProfile(CONFIG, "dev.admin", FILE);
    expect(profile).toMatchObject({ kind: "sso-session", accountId: "444455556666", roleName: "Admin" });
    expect(profile).not.toHaveProperty("region");
  });

  it("parses sso_registration_scopes like the AWS CLI and keeps what was configured", () => {
    const profile = resolveSsoProfile(CONFIG, "scoped", FILE);
    expect(profile).toMatchObject({
      scopes: ["sso:account:access", "codewhisperer:completions"],
      configuredScopes: ["sso:account:access", "codewhisperer:completions"],
    });
    expect(parseRegistrationScopes(" , ")).toEqual([]);
  });

  it("resolves a legacy profile", () => {
    expect(resolveSsoProfile(CONFIG, "legacy", FILE)).toEqual({
      kind: "legacy",
      profileName: "legacy",
      startUrl: "https://d-1234567890.awsapps.com/start",
      ssoRegion: "us-west-2",
      accountId: "777788889999",
      roleName: "Dev",
    });
  });

  it("accepts a profile repeating its session's settings exactly", () => {
    expect(resolveSsoProfile(CONFIG, "agrees", FILE).kind).toBe("sso-session");
  });

  it("lists the SSO profiles when the profile is missing", () => {
    const error = errorOf(() => resolveSsoProfile(CONFIG, "nope", FILE));
    expect(error).toBeInstanceOf(ProfileError);
    expect(error.message).toBe(
      `Profile "nope" is not in ${FILE}. SSO profiles there: default, dev.admin, scoped, legacy, no-session, incomplete, legacy-incomplete, mismatch, agrees, bad-session.`,
    );
    expect(error.hint).toBe("sso-docker configure --profile nope");
  });

  it("says when the file has no SSO profiles at all", () => {
    const error = errorOf(() => resolveSsoProfile(parseAwsConfig("", FILE), "default", FILE));
    expect(error.message).toContain("It has no SSO profiles.");
  });

  it("refuses a profile without SSO settings", () => {
    const error = errorOf(() => resolveSsoProfile(CONFIG, "plain", FILE));
    expect(error).toBeInstanceOf(ProfileError);
    expect(error.message).toContain(`Profile "plain" in ${FILE} has no IAM Identity Center settings`);
    expect(error.hint).toBe("sso-docker configure --profile plain");
  });

  it.each([
    ["no-session", "There is no [sso-session missing]", 'used by profile "no-session"'],
    ["incomplete", "is missing sso_account_id, sso_role_name", 'Profile "incomplete"'],
    [
      "legacy-incomplete",
      "is missing sso_region, sso_account_id, sso_role_name",
      'Profile "legacy-incomplete"',
    ],
    ["bad-session", "[sso-session half]", "is missing sso_start_url"],
    ["mismatch", "sets sso_start_url to a different value than [sso-session corp]", 'Profile "mismatch"'],
  ])("explains what is wrong with %s", (profileName, part1, part2) => {
    const error = errorOf(() => resolveSsoProfile(CONFIG, profileName, FILE));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(part1);
    expect(error.message).toContain(part2);
    expect(error.message).toContain(FILE);
    expect(error.hint).toContain(`sso-docker configure --profile ${profileName}`);
  });
});

describe("listing", () => {
  it("lists SSO profiles in file order", () => {
    expect(listSsoProfiles(CONFIG)).not.toContain("plain");
    expect(listSsoProfiles(CONFIG)[0]).toBe("default");
  });

  it("lists sso-sessions, complete or not", () => {
    expect(listSsoSessions(CONFIG)).toEqual([
      { sessionName: "corp", startUrl: "https://corp.awsapps.com/start#/", ssoRegion: "us-east-1" },
      { sessionName: "scoped", startUrl: "https://scoped.awsapps.com/start", ssoRegion: "eu-central-1" },
      { sessionName: "half", ssoRegion: "us-east-1" },
    ]);
  });

  it("resolves a session on its own", () => {
    expect(resolveSsoSession(CONFIG, "corp", FILE)).toEqual({
      sessionName: "corp",
      startUrl: "https://corp.awsapps.com/start#/",
      ssoRegion: "us-east-1",
      scopes: ["sso:account:access"],
    });
    expect(errorOf(() => resolveSsoSession(CONFIG, "x", FILE)).message).toContain(
      "Sessions there: corp, scoped, half.",
    );
  });
});

describe("the containers allow-list (sso_docker_containers)", () => {
  const KEPT = `[profile admin]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin
sso_docker_containers = false

[profile open]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Dev
sso_docker_containers = TRUE

[profile typo]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Dev
sso_docker_containers = no

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
`;
  const config = parseAwsConfig(KEPT, FILE);

  it("keeps a profile with the key false out, and lets the others in", () => {
    expect(allowsContainers(config, "admin", FILE)).toBe(false);
    expect(allowsContainers(config, "open", FILE)).toBe(true);
    expect(allowsContainers(CONFIG, "dev.admin", FILE)).toBe(true);
    const error = errorOf(() => {
      assertAllowedInContainers(config, "admin", FILE);
    });
    expect(error).toBeInstanceOf(ProfileError);
    expect(error.message).toBe(
      `Profile "admin" is kept out of containers: ${FILE} sets sso_docker_containers = false for it.`,
    );
    expect(error.hint).toContain("sso-docker credentials --profile admin");
  });

  it("refuses any value but true or false, naming the profile, the file and the value", () => {
    const error = errorOf(() => allowsContainers(config, "typo", FILE));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `Profile "typo" in ${FILE} sets sso_docker_containers to "no"; it must be true or false.`,
    );
    expect(error.hint).toContain(`Edit ${FILE}`);
  });

  it("is a key the AWS SDK's own loader reads past: the profile's SSO settings stay as they are", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sso-docker-allow-list-"));
    try {
      await writeFile(join(dir, "config"), KEPT);
      const { configFile } = await loadSharedConfigFiles({
        configFilepath: join(dir, "config"),
        filepath: join(dir, "credentials"),
      });
      expect(configFile["admin"]).toEqual({
        sso_session: "corp",
        sso_account_id: "111122223333",
        sso_role_name: "Admin",
        sso_docker_containers: "false",
      });
      expect(resolveSsoProfile(config, "admin", FILE)).toMatchObject({
        kind: "sso-session",
        roleName: "Admin",
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
