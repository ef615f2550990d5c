import { describe, expect, it } from "vitest";
import { ConfigError, ProfileError } from "../runtime/errors.js";
import type { SsoDockerError } from "../runtime/errors.js";
import { parseAwsConfig } from "./config-read.js";
import {
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
