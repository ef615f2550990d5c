import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, it } from "vitest";
import { startFakeIdc, type FakeIamRole, type FakeIdc } from "../src/fake-idc/index.js";
import { assertBuilt, cliEnv, createHome, secretsOf, seedToken } from "./cli-support.js";
import { expectRefused, type ExpectedRefusal, type RefusalContext } from "./support/refusal.js";

// Every way a role chain can be wrong, through the built CLI: one line naming the profile and
// why, the next command, a non-zero exit, and HOME left byte for byte as it was.

assertBuilt();

const ROLES: readonly FakeIamRole[] = [
  { accountId: "444444444444", roleName: "deployer" },
  { accountId: "555555555555", roleName: "audit", externalId: "partner-7f3a" },
];
const DEPLOYER = "arn:aws:iam::444444444444:role/deployer";
const AUDIT = "arn:aws:iam::555555555555:role/audit";
const STATIC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

const config = (idc: FakeIdc) => `[sso-session corp]
sso_start_url = ${idc.startUrl}
sso_region = us-east-1

[profile base]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess

[profile app]
role_arn = ${DEPLOYER}
source_profile = base

[profile loop-a]
role_arn = ${DEPLOYER}
source_profile = loop-b

[profile loop-b]
role_arn = ${AUDIT}
source_profile = loop-a

[profile orphan]
role_arn = ${DEPLOYER}
source_profile = gone

[profile no-source]
role_arn = ${DEPLOYER}

[profile keys]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = ${STATIC_SECRET}

[profile from-keys]
role_arn = ${DEPLOYER}
source_profile = keys

[profile on-ec2]
role_arn = ${DEPLOYER}
credential_source = Ec2InstanceMetadata

[profile proc]
credential_process = /usr/local/bin/get-creds

[profile from-process]
role_arn = ${DEPLOYER}
source_profile = proc

[profile plain]
region = eu-west-1

[profile from-plain]
role_arn = ${DEPLOYER}
source_profile = plain

[profile web]
role_arn = ${DEPLOYER}
web_identity_token_file = /var/run/token

[profile mfa]
role_arn = ${DEPLOYER}
source_profile = base
mfa_serial = arn:aws:iam::111111111111:mfa/me

[profile typo]
role_arn = ${DEPLOYER}
source_profile = base
duration_seconds = 1h

[profile wrong-id]
role_arn = ${AUDIT}
source_profile = base
external_id = not-the-id

[profile no-such-role]
role_arn = arn:aws:iam::444444444444:role/nope
source_profile = base

[profile too-long]
role_arn = ${DEPLOYER}
source_profile = base
duration_seconds = 7200
`;

const SESSION = (idc: FakeIdc) => ({ sessionName: "corp", startUrl: idc.startUrl, region: "us-east-1" });

/** A fake, a HOME with the config above, and a login to sso-session corp (live, or expired with no refresh token). */
async function withCtx(
  fn: (ctx: RefusalContext & { idc: FakeIdc }) => Promise<void>,
  options: { expiredLogin?: boolean } = {},
): Promise<void> {
  await using idc = await startFakeIdc({ iamRoles: ROLES });
  await using home = await createHome();
  await mkdir(join(home.home, ".aws"), { recursive: true });
  await writeFile(home.configFile, config(idc));
  const seeded = idc.createSession();
  await seedToken(
    home,
    SESSION(idc),
    seeded,
    options.expiredLogin === true ? { expiresAt: Date.now() - 60_000, refreshToken: null } : {},
  );
  await fn({ idc, home, env: cliEnv(home, idc), secrets: [...secretsOf(seeded), STATIC_SECRET] });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

const creds = (profile: string) => ["credentials", "--profile", profile];

describe.concurrent("role chains: bad input", { timeout: 60_000 }, () => {
  const configCases: [string, (file: string) => ExpectedRefusal][] = [
    [
      "loop-a",
      (file) => ({
        message: 'Profile "loop-a" has a loop in source_profile: loop-a → loop-b → loop-a.',
        next: `Edit source_profile in [profile loop-b] of ${file}`,
      }),
    ],
    [
      "orphan",
      (file) => ({
        message: `Profile "orphan" in ${file} names source_profile "gone", which is not in ${file}.`,
        next: "sso-docker configure --profile gone",
      }),
    ],
    [
      "no-source",
      (file) => ({
        message: `Profile "no-source" in ${file} sets role_arn but no source_profile to assume it with.`,
        next: `Edit role_arn in [profile no-source] of ${file}: add source_profile = an SSO profile`,
      }),
    ],
    [
      "from-keys",
      () => ({
        message:
          'Profile "from-keys" starts its role chain (from-keys → keys) at profile "keys", which uses static keys (aws_access_key_id, aws_secret_access_key); sso-docker serves only chains that start at IAM Identity Center.',
        next: "sso-docker configure --profile keys",
      }),
    ],
    [
      "on-ec2",
      (file) => ({
        message: `Profile "on-ec2" in ${file} assumes its role with credential_source = Ec2InstanceMetadata; sso-docker serves only role chains that start at an IAM Identity Center profile.`,
        next: `Edit credential_source in [profile on-ec2] of ${file}: source_profile = an SSO profile instead`,
      }),
    ],
    [
      "from-process",
      () => ({
        message:
          'Profile "from-process" starts its role chain (from-process → proc) at profile "proc", which uses a credential_process (credential_process); sso-docker serves only chains that start at IAM Identity Center.',
        next: "sso-docker configure --profile proc",
      }),
    ],
    [
      "from-plain",
      () => ({
        message:
          'Profile "from-plain" starts its role chain (from-plain → plain) at profile "plain", which has no IAM Identity Center role (sso_account_id, sso_role_name); sso-docker serves only chains that start at IAM Identity Center.',
        next: "sso-docker configure --profile plain",
      }),
    ],
    [
      "web",
      (file) => ({
        message: `Profile "web" in ${file} assumes its role with web_identity_token_file; sso-docker serves only role chains that start at an IAM Identity Center profile.`,
        next: `Edit web_identity_token_file in [profile web] of ${file}: source_profile = an SSO profile instead`,
      }),
    ],
    [
      "mfa",
      (file) => ({
        message: `Profile "mfa" in ${file} sets mfa_serial; sso-docker cannot ask for MFA codes (the IAM Identity Center sign-in does MFA).`,
        next: `Edit mfa_serial (remove it) in [profile mfa] of ${file}`,
      }),
    ],
    [
      "typo",
      (file) => ({
        message: `Profile "typo" in ${file} sets duration_seconds to "1h"; it must be a whole number of seconds from 900 to 43200.`,
        next: `Edit duration_seconds in [profile typo] of ${file}`,
      }),
    ],
  ];
  for (const [profile, expected] of configCases) {
    it(`${profile}: refused before any request`, async ({ expect }) => {
      await withCtx(async (ctx) => {
        await expectRefused(expect, ctx, creds(profile), expected(ctx.home.configFile));
        // `login` resolves the same chain and refuses it the same way.
        await expectRefused(
          expect,
          ctx,
          ["login", "--profile", profile, "--no-browser"],
          expected(ctx.home.configFile),
        );
        expect(ctx.idc.requests).toEqual([]);
      });
    });
  }

  it("an expired sign-in at the root: the login hint for the profile asked for", async ({ expect }) => {
    await withCtx(
      async (ctx) => {
        await expectRefused(expect, ctx, creds("app"), {
          message: "The SSO session associated with profile app has expired (sso-session corp).",
          next: "sso-docker login --profile app",
        });
        expect(ctx.idc.requests).toEqual([]);
      },
      { expiredLogin: true },
    );
  });

  it("AccessDenied: a wrong ExternalId", async ({ expect }) => {
    await withCtx(async (ctx) => {
      await expectRefused(expect, ctx, creds("wrong-id"), {
        message: `STS denied AssumeRole of ${AUDIT} for profile wrong-id: User: arn:aws:sts::111111111111:assumed-role/ReadOnlyAccess/developer is not authorized to perform: sts:AssumeRole on resource: ${AUDIT}`,
        next: `Check role_arn and external_id in [profile wrong-id] of ${ctx.home.configFile}; the role's trust policy must allow the role it is assumed from`,
      });
      expect(ctx.idc.count("/", { operation: "AssumeRole", status: 403, errorType: "AccessDenied" })).toBe(2);
    });
  });

  it("AccessDenied: a role that does not exist", async ({ expect }) => {
    await withCtx(async (ctx) => {
      const nope = "arn:aws:iam::444444444444:role/nope";
      await expectRefused(expect, ctx, creds("no-such-role"), {
        message: `STS denied AssumeRole of ${nope} for profile no-such-role: User: arn:aws:sts::111111111111:assumed-role/ReadOnlyAccess/developer is not authorized to perform: sts:AssumeRole on resource: ${nope}`,
        next: `Check role_arn in [profile no-such-role] of ${ctx.home.configFile}; the role's trust policy must allow the role it is assumed from`,
      });
    });
  });

  it("ValidationError from STS: a duration over the role's maximum", async ({ expect }) => {
    await withCtx(async (ctx) => {
      await expectRefused(expect, ctx, creds("too-long"), {
        message:
          "STS refused the AssumeRole settings of profile too-long: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        next: `Edit role_arn, role_session_name, external_id or duration_seconds in [profile too-long] of ${ctx.home.configFile}`,
      });
    });
  });

  it("STS unreachable", async ({ expect }) => {
    await withCtx(async (ctx) => {
      const port = await closedPort();
      await expectRefused(expect, ctx, creds("app"), {
        env: { AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${port}` },
        message: `Cannot reach STS at http://127.0.0.1:${port} (ECONNREFUSED) for profile app.`,
        next: "check the network, or the AWS_ENDPOINT_URL_STS setting",
      });
    });
  });

  it("STS failing on every attempt", async ({ expect }) => {
    await withCtx(async (ctx) => {
      await expectRefused(expect, ctx, creds("app"), {
        arm: () => {
          ctx.idc.failNext({ path: "/", status: 500, count: 100 });
        },
        message: `AssumeRole of ${DEPLOYER} failed for profile app (HTTP 500), InternalFailure: Injected failure (500 InternalFailure).`,
        next: "try again in a minute",
      });
    });
  });

  it("a container asking for a chain that cannot resolve: grant refuses it with the chain's reason", async ({
    expect,
  }) => {
    await withCtx(async (ctx) => {
      await expectRefused(expect, ctx, ["grant", "--profile", "app", "--profile", "loop-a"], {
        message: 'Profile "loop-a" has a loop in source_profile: loop-a → loop-b → loop-a.',
        next: `Edit source_profile in [profile loop-b] of ${ctx.home.configFile}`,
      });
    });
  });
});
