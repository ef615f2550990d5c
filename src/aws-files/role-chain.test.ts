import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, ProfileError } from "../runtime/errors.js";
import type { SsoDockerError } from "../runtime/errors.js";
import { parseAwsConfig } from "./config-read.js";
import { withCredentialsFile } from "./credentials-file.js";
import { resolveRoleChain } from "./role-chain.js";

const FILE = "/home/u/.aws/config";
const SSO = `sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess`;

function chainOf(config: string, profile = "app") {
  return resolveRoleChain(parseAwsConfig(config, FILE), profile, FILE);
}

function refusal(config: string, profile = "app"): SsoDockerError {
  try {
    chainOf(config, profile);
  } catch (err) {
    return err as SsoDockerError;
  }
  throw new Error("expected a refusal");
}

const BASE = `[sso-session corp]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1

[profile base]
${SSO}
`;

describe("resolveRoleChain", () => {
  it("is undefined for a profile without role_arn", () => {
    expect(chainOf(BASE, "base")).toBeUndefined();
    expect(chainOf(BASE, "nope")).toBeUndefined();
  });

  it("follows source_profile through several roles to the IAM Identity Center profile, first step first", () => {
    const chain = chainOf(`${BASE}
[profile mid]
role_arn = arn:aws:iam::444444444444:role/teams/app/deployer
source_profile = base
region = sa-east-1

[profile app]
role_arn = arn:aws:iam::555555555555:role/audit
source_profile = mid
role_session_name = alice@example.com
external_id = partner-7f3a
duration_seconds = 1800
`);
    expect(chain).toEqual({
      sourceProfile: "base",
      steps: [
        {
          profileName: "mid",
          roleArn: "arn:aws:iam::444444444444:role/teams/app/deployer",
          accountId: "444444444444",
          roleName: "deployer",
        },
        {
          profileName: "app",
          roleArn: "arn:aws:iam::555555555555:role/audit",
          accountId: "555555555555",
          roleName: "audit",
          roleSessionName: "alice@example.com",
          externalId: "partner-7f3a",
          durationSeconds: 1800,
        },
      ],
    });
  });

  it("assumes the role of a profile that also has sso_* keys, as botocore's provider order does", () => {
    const chain = chainOf(`${BASE}
[profile app]
${SSO}
role_arn = arn:aws:iam::444444444444:role/deployer
source_profile = base
`);
    expect(chain?.steps.map((s) => s.profileName)).toEqual(["app"]);
  });

  it("takes a source profile's own SSO role when it has static keys beside role_arn (botocore uses its providers then)", () => {
    const chain = chainOf(`${BASE}
[profile mid]
${SSO}
aws_access_key_id = AKIDEXAMPLE
role_arn = arn:aws:iam::444444444444:role/ignored
source_profile = base

[profile app]
role_arn = arn:aws:iam::555555555555:role/audit
source_profile = mid
`);
    expect(chain).toMatchObject({ sourceProfile: "mid", steps: [{ profileName: "app" }] });
  });

  it("lets a profile name itself as source only to take credentials from its own section", () => {
    const self = `${BASE}
[profile app]
${SSO}
aws_access_key_id = AKIDEXAMPLE
role_arn = arn:aws:iam::444444444444:role/deployer
source_profile = app
`;
    expect(chainOf(self)).toMatchObject({ sourceProfile: "app", steps: [{ profileName: "app" }] });
    const error = refusal(self.replace("aws_access_key_id = AKIDEXAMPLE\n", ""));
    expect(error).toBeInstanceOf(ProfileError);
    expect(error.message).toBe('Profile "app" has a loop in source_profile: app → app.');
  });

  it("refuses a loop, naming the profiles in it", () => {
    const error = refusal(`${BASE}
[profile app]
role_arn = arn:aws:iam::444444444444:role/a
source_profile = mid

[profile mid]
role_arn = arn:aws:iam::444444444444:role/b
source_profile = app
`);
    expect(error).toBeInstanceOf(ProfileError);
    expect(error.message).toBe('Profile "app" has a loop in source_profile: app → mid → app.');
    expect(error.hint).toBe(`Edit source_profile in [profile mid] of ${FILE}`);
  });

  it("refuses a missing source profile, and a role_arn without any source", () => {
    const missing = refusal(`${BASE}
[profile mid]
role_arn = arn:aws:iam::444444444444:role/a
source_profile = gone

[profile app]
role_arn = arn:aws:iam::444444444444:role/b
source_profile = mid
`);
    expect(missing.message).toBe(
      `Profile "mid" (in the chain of profile "app") in ${FILE} names source_profile "gone", which is not in ${FILE}.`,
    );
    expect(missing.hint).toBe("sso-docker configure --profile gone");
    const none = refusal(`[profile app]\nrole_arn = arn:aws:iam::444444444444:role/b\n`);
    expect(none.message).toBe(
      `Profile "app" in ${FILE} sets role_arn but no source_profile to assume it with.`,
    );
  });

  it("refuses credential_source and web identity: not an IAM Identity Center chain", () => {
    const source = refusal(
      `[profile app]\nrole_arn = arn:aws:iam::444444444444:role/b\ncredential_source = Ec2InstanceMetadata\n`,
    );
    expect(source).toBeInstanceOf(ProfileError);
    expect(source.message).toBe(
      `Profile "app" in ${FILE} assumes its role with credential_source = Ec2InstanceMetadata; sso-docker serves only role chains that start at an IAM Identity Center profile.`,
    );
    const webIdentity = refusal(
      `[profile app]\nrole_arn = arn:aws:iam::444444444444:role/b\nweb_identity_token_file = /var/run/token\n`,
    );
    expect(webIdentity.message).toMatch(
      /^Profile "app" in \S+ assumes its role with web_identity_token_file;/,
    );
  });

  const roots: [string, string, string][] = [
    [
      "static keys",
      "aws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret",
      "which uses static keys (aws_access_key_id, aws_secret_access_key)",
    ],
    [
      "credential_process",
      "credential_process = /bin/creds",
      "which uses a credential_process (credential_process)",
    ],
    [
      "an aws login session",
      "login_session = arn:aws:iam::1:user/me",
      "which uses an `aws login` session (login_session)",
    ],
    [
      "web identity",
      "role_arn = arn:aws:iam::444444444444:role/w\nweb_identity_token_file = /t",
      "which uses web_identity_token_file",
    ],
    [
      "no credentials at all",
      "sso_session = corp\nregion = eu-west-1",
      "which has no IAM Identity Center role (sso_account_id, sso_role_name)",
    ],
  ];
  for (const [name, keys, why] of roots) {
    it(`refuses a chain rooted in ${name}`, () => {
      const error = refusal(`${BASE}
[profile root]
${keys}

[profile mid]
role_arn = arn:aws:iam::444444444444:role/a
source_profile = root

[profile app]
role_arn = arn:aws:iam::444444444444:role/b
source_profile = mid
`);
      expect(error).toBeInstanceOf(ProfileError);
      expect(error.message).toBe(
        `Profile "app" starts its role chain (app → mid → root) at profile "root", ${why}; sso-docker serves only chains that start at IAM Identity Center.`,
      );
      expect(error.hint).toBe("sso-docker configure --profile root");
    });
  }

  const badValues: [string, string, string][] = [
    [
      "role_arn",
      "arn:aws:iam:444444444444:role/b",
      'sets role_arn to "arn:aws:iam:444444444444:role/b", which is not an IAM role ARN',
    ],
    [
      "role_arn",
      "arn:aws:iam::444444444444:user/b",
      'sets role_arn to "arn:aws:iam::444444444444:user/b", which is not an IAM role ARN',
    ],
    ["role_session_name", "has space", 'sets role_session_name to "has space"; STS takes 2 to 64'],
    ["external_id", "x", "sets external_id to a value STS refuses"],
    [
      "duration_seconds",
      "1h",
      'sets duration_seconds to "1h"; it must be a whole number of seconds from 900 to 43200.',
    ],
    ["duration_seconds", "600", 'sets duration_seconds to "600"'],
    ["duration_seconds", "43201", 'sets duration_seconds to "43201"'],
  ];
  for (const [key, value, problem] of badValues) {
    it(`refuses ${key} = ${value}`, () => {
      const config = `${BASE}
[profile app]
role_arn = arn:aws:iam::444444444444:role/b
source_profile = base
${key} = ${value}
`;
      const error = refusal(config.replace(/^role_arn = .*\n(?=(?:.|\n)*^role_arn)/m, ""));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(`Profile "app" in ${FILE} ${problem}`);
      expect(error.hint).toBe(`Edit ${key} in [profile app] of ${FILE}`);
    });
  }

  it("refuses mfa_serial: no one to type the code", () => {
    const error = refusal(`${BASE}
[profile app]
role_arn = arn:aws:iam::444444444444:role/b
source_profile = base
mfa_serial = arn:aws:iam::111111111111:mfa/me
`);
    expect(error).toBeInstanceOf(ProfileError);
    expect(error.message).toBe(
      `Profile "app" in ${FILE} sets mfa_serial; sso-docker cannot ask for MFA codes (the IAM Identity Center sign-in does MFA).`,
    );
  });

  it("reads role_arn, source_profile and static keys from ~/.aws/credentials too, as the SDKs merge it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sso-docker-chain-"));
    try {
      const credentialsFile = join(dir, "credentials");
      await writeFile(
        credentialsFile,
        "[app]\nrole_arn = arn:aws:iam::444444444444:role/b\nsource_profile = base\n\n[keys]\naws_access_key_id = AKIDEXAMPLE\n\n[profile base]\naws_access_key_id = ignored\n",
      );
      const config = await withCredentialsFile(
        parseAwsConfig(
          `${BASE}\n[profile other]\nrole_arn = arn:aws:iam::444444444444:role/c\nsource_profile = keys\n`,
          FILE,
        ),
        credentialsFile,
      );
      expect(resolveRoleChain(config, "app", FILE)).toMatchObject({
        sourceProfile: "base",
        steps: [{ roleName: "b" }],
      });
      expect(() => resolveRoleChain(config, "other", FILE)).toThrow(
        /at profile "keys", which uses static keys/,
      );
      const absent = parseAwsConfig(BASE, FILE);
      expect(await withCredentialsFile(absent, join(dir, "missing"))).toBe(absent);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
