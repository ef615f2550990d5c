import { existsSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { describe, expect, it } from "vitest";
import { startFakeIdc, type FakeIamRole, type FakeIdc } from "../src/fake-idc/index.js";
import { assertBuilt, cliEnv, createHome, runCli, seedToken, type TestHome } from "./cli-support.js";
import { AWS_CLI, runAwsCli, writeAwsCliEndpointOverrides } from "./support/aws-cli.js";

// Role chains on the host, held against the real AWS CLI v2 (2.9.19) on the same config and
// fake: `sso-docker credentials` and `aws configure export-credentials` resolve the same chain,
// sign AssumeRole for the same region, and serve each other from ~/.aws/cli/cache.

assertBuilt();

const ROLES: readonly FakeIamRole[] = [
  { accountId: "444444444444", roleName: "deployer" },
  {
    accountId: "555555555555",
    roleName: "audit",
    externalId: "partner-7f3a",
    trustedPrincipals: ["arn:aws:iam::444444444444:root"],
  },
];
const DEPLOYER = "arn:aws:iam::444444444444:role/deployer";
const AUDIT = "arn:aws:iam::555555555555:role/audit";

/** The AWS CLI 2.9.19 chains only from a legacy SSO profile (see ENVIRONMENT.md), so the roots here are legacy. */
function legacyBase(idc: FakeIdc, name = "base", role = "AdministratorAccess"): string {
  return `[profile ${name}]
sso_start_url = ${idc.startUrl}
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = ${role}
`;
}

function twoSteps(idc: FakeIdc): string {
  return `${legacyBase(idc)}
[profile mid]
role_arn = ${DEPLOYER}
source_profile = base

[profile app]
role_arn = ${AUDIT}
source_profile = mid
external_id = partner-7f3a
role_session_name = alice
region = eu-central-1
`;
}

interface Exported {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
}

/** A HOME with `config`, a live legacy SSO login in its token cache, and the AWS CLI pointed at the fake. */
async function homeWith(idc: FakeIdc, config: string): Promise<TestHome> {
  const home = await createHome();
  await mkdir(join(home.home, ".aws"), { recursive: true });
  await writeFile(home.configFile, config);
  await seedToken(home, { startUrl: idc.startUrl, region: "us-east-1" }, idc.createSession());
  await writeAwsCliEndpointOverrides(home.home, idc.url);
  return home;
}

async function ssoDocker(idc: FakeIdc, home: TestHome, profile: string, env: Record<string, string> = {}) {
  const result = await runCli(["credentials", "--profile", profile], cliEnv(home, idc, env));
  expect(result.exitCode, result.stderr).toBe(0);
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as Exported;
}

async function awsCli(home: TestHome, profile: string, env: Record<string, string> = {}) {
  const result = await runAwsCli(
    ["configure", "export-credentials", "--profile", profile, "--format", "process"],
    {
      home: home.home,
      configFile: home.configFile,
      env,
    },
  );
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Exported;
}

/** Who the credentials are, asked with the JS SDK: the fake checks the SigV4 signature. */
async function callerArn(idc: FakeIdc, creds: Exported): Promise<string | undefined> {
  const sts = new STSClient({
    endpoint: idc.url,
    region: "us-east-1",
    maxAttempts: 1,
    credentials: {
      accessKeyId: creds.AccessKeyId,
      secretAccessKey: creds.SecretAccessKey,
      sessionToken: creds.SessionToken,
    },
  });
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Arn;
  } finally {
    sts.destroy();
  }
}

async function cacheFiles(home: TestHome): Promise<string[]> {
  return existsSync(home.cliCacheDir) ? (await readdir(home.cliCacheDir)).sort() : [];
}

const assumeRoles = (idc: FakeIdc) => idc.requests.filter((e) => e.operation === "AssumeRole");

describe.skipIf(!existsSync(AWS_CLI))("role chains, with the real AWS CLI v2", { timeout: 60_000 }, () => {
  it("a two-step chain: sso-docker's credentials sign as the final role, and the AWS CLI takes them from sso-docker's cache entry", async () => {
    await using idc = await startFakeIdc({ iamRoles: ROLES });
    await using home = await homeWith(idc, twoSteps(idc));

    const ours = await ssoDocker(idc, home, "app");
    expect(await callerArn(idc, ours)).toBe("arn:aws:sts::555555555555:assumed-role/audit/alice");
    expect(idc.count("/federation/credentials", { status: 200 })).toBe(1);
    expect(assumeRoles(idc).map((e) => [e.roleArn, e.status, e.signingRegion])).toEqual([
      [DEPLOYER, 200, "eu-central-1"],
      [AUDIT, 200, "eu-central-1"],
    ]);
    const files = await cacheFiles(home);

    idc.clearRequests();
    const theirs = await awsCli(home, "app");
    expect(theirs.AccessKeyId).toBe(ours.AccessKeyId);
    // Not one request: no AssumeRole, not even the SSO token was needed.
    expect(idc.requests).toEqual([]);
    // Nor did the CLI add or replace an entry: the files are the ones it would have written.
    expect(await cacheFiles(home)).toEqual(files);
  });

  it("the reverse: the AWS CLI's entries serve sso-docker, the last one and the one before", async () => {
    await using idc = await startFakeIdc({ iamRoles: ROLES });
    await using home = await homeWith(idc, twoSteps(idc));

    const theirs = await awsCli(home, "app");
    expect(assumeRoles(idc).map((e) => [e.roleArn, e.signingRegion])).toEqual([
      [DEPLOYER, "eu-central-1"],
      [AUDIT, "eu-central-1"],
    ]);
    const files = await cacheFiles(home);
    // One entry per AssumeRole; the chain's SSO role credentials stay in the CLI's memory.
    expect(files).toHaveLength(2);

    idc.clearRequests();
    const ours = await ssoDocker(idc, home, "app");
    expect(ours.AccessKeyId).toBe(theirs.AccessKeyId);
    expect(idc.requests).toEqual([]);

    // Without the last entry, the CLI's entry for `mid` signs the one AssumeRole needed.
    const entries = await Promise.all(
      files.map(async (name) => ({ name, text: await readFile(join(home.cliCacheDir, name), "utf8") })),
    );
    const last = entries.find((e) => e.text.includes(theirs.AccessKeyId));
    const cliEntry = JSON.parse(last?.text ?? "{}") as Record<string, Record<string, unknown>>;
    await rm(join(home.cliCacheDir, last?.name ?? "missing"));
    const again = await ssoDocker(idc, home, "app");
    expect(again.AccessKeyId).not.toBe(theirs.AccessKeyId);
    expect(idc.count("/federation/credentials")).toBe(0);
    expect(assumeRoles(idc).map((e) => e.roleArn)).toEqual([AUDIT]);
    expect(await cacheFiles(home)).toEqual(files);

    // sso-docker's rewrite of that entry has the CLI's shape, less the HTTP metadata.
    const ours2 = JSON.parse(
      await readFile(join(home.cliCacheDir, last?.name ?? ""), "utf8"),
    ) as typeof cliEntry;
    expect(Object.keys(ours2)).toEqual(["Credentials", "AssumedRoleUser"]);
    expect(Object.keys(cliEntry)).toEqual(["Credentials", "AssumedRoleUser", "ResponseMetadata"]);
    expect(Object.keys(ours2["Credentials"] ?? {})).toEqual([
      ...Object.keys(cliEntry["Credentials"] ?? {}),
      "AccountId",
    ]);
    expect(Object.keys(ours2["AssumedRoleUser"] ?? {})).toEqual(
      Object.keys(cliEntry["AssumedRoleUser"] ?? {}),
    );
    expect(String(ours2["Credentials"]?.["Expiration"])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(String(cliEntry["Credentials"]?.["Expiration"])).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/,
    );
    idc.clearRequests();
    expect((await awsCli(home, "app")).AccessKeyId).toBe(again.AccessKeyId);
    expect(idc.requests).toEqual([]);
  });

  it("an sso-session root, which AWS CLI 2.9.19 cannot chain from itself: it still takes sso-docker's entry", async () => {
    await using idc = await startFakeIdc({ iamRoles: ROLES });
    const config = `[sso-session corp]
sso_start_url = ${idc.startUrl}
sso_region = us-east-1

[profile base]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess

[profile app]
role_arn = ${DEPLOYER}
source_profile = base
`;
    await using home = await homeWith(idc, config);
    await seedToken(
      home,
      { sessionName: "corp", startUrl: idc.startUrl, region: "us-east-1" },
      idc.createSession(),
    );
    const ours = await ssoDocker(idc, home, "app");
    expect(await callerArn(idc, ours)).toMatch(
      /^arn:aws:sts::444444444444:assumed-role\/deployer\/sso-docker-\d+$/,
    );
    idc.clearRequests();
    expect((await awsCli(home, "app")).AccessKeyId).toBe(ours.AccessKeyId);
    expect(idc.requests).toEqual([]);
  });

  it("STS refusing cached source credentials: sso-docker drops them and assumes again with fresh ones", async () => {
    await using idc = await startFakeIdc({ iamRoles: ROLES });
    await using home = await homeWith(idc, twoSteps(idc));
    const first = await ssoDocker(idc, home, "app");
    const files = await cacheFiles(home);
    // Every credential the fake issued is dead at STS, though the cache files say otherwise.
    idc.expireRoleCredentials();
    const last = (
      await Promise.all(
        files.map(async (name) => ({ name, text: await readFile(join(home.cliCacheDir, name), "utf8") })),
      )
    ).find((e) => e.text.includes(first.AccessKeyId));
    await rm(join(home.cliCacheDir, last?.name ?? "missing"));
    idc.clearRequests();

    const second = await ssoDocker(idc, home, "app");
    expect(await callerArn(idc, second)).toBe("arn:aws:sts::555555555555:assumed-role/audit/alice");
    expect(assumeRoles(idc).map((e) => [e.roleArn, e.status, e.errorType])).toEqual([
      [AUDIT, 400, "ExpiredToken"],
      [DEPLOYER, 200, undefined],
      [AUDIT, 200, undefined],
    ]);
    expect(idc.count("/federation/credentials", { status: 200 })).toBe(1);
    expect(await cacheFiles(home)).toEqual(files);
  });
});

/** What one tool did for a profile: the roles it assumed, where it signed, which SSO role it started from, who it ended as. */
async function observe(
  idc: FakeIdc,
  config: string,
  tool: "sso-docker" | "aws",
  options: { profile?: string; env?: Record<string, string>; credentialsFile?: string } = {},
) {
  await using home = await homeWith(idc, config);
  if (options.credentialsFile !== undefined) {
    await appendFile(join(home.home, ".aws", "credentials"), options.credentialsFile);
  }
  idc.clearRequests();
  const issuedBefore = idc.issuedCredentials().length;
  const profile = options.profile ?? "app";
  const creds =
    tool === "aws"
      ? await awsCli(home, profile, options.env)
      : await ssoDocker(idc, home, profile, options.env);
  const ssoRoles = idc
    .issuedCredentials()
    .slice(issuedBefore)
    .filter((c) => c.issuedBy === "GetRoleCredentials")
    .map((c) => `${c.accountId}/${c.roleName}`);
  const steps = assumeRoles(idc).map((e) => `${e.roleArn ?? ""} @${e.signingRegion ?? ""}`);
  const arn = await callerArn(idc, creds);
  // The session name is generated per tool (botocore-session-N, sso-docker-N) unless configured.
  return { ssoRoles, steps, role: arn?.replace(/\/[^/]+$/, "") };
}

describe.skipIf(!existsSync(AWS_CLI))(
  "resolution agrees with the AWS CLI v2 on the edge cases",
  { timeout: 60_000 },
  () => {
    const cases: {
      name: string;
      config: (idc: FakeIdc) => string;
      env?: Record<string, string>;
      credentialsFile?: string;
      expected: { ssoRoles: string[]; steps: string[]; role: string };
    }[] = [
      {
        name: "role_arn beside sso_* keys: the role is assumed (AssumeRole comes before SSO in the provider order)",
        config: (idc) =>
          `${legacyBase(idc)}\n${legacyBase(idc, "app", "ReadOnlyAccess")}role_arn = ${DEPLOYER}\nsource_profile = base\n`,
        expected: {
          ssoRoles: ["111111111111/AdministratorAccess"],
          steps: [`${DEPLOYER} @us-east-1`],
          role: "arn:aws:sts::444444444444:assumed-role/deployer",
        },
      },
      {
        name: "a source with static keys beside role_arn is not assumed: its own SSO role is the source",
        config: (idc) =>
          `${legacyBase(idc, "mid", "PowerUserAccess")}aws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\nrole_arn = ${AUDIT}\nsource_profile = nowhere\n\n[profile app]\nrole_arn = ${DEPLOYER}\nsource_profile = mid\n`,
        expected: {
          ssoRoles: ["111111111111/PowerUserAccess"],
          steps: [`${DEPLOYER} @us-east-1`],
          role: "arn:aws:sts::444444444444:assumed-role/deployer",
        },
      },
      {
        name: "a profile that names itself as source, with keys there: its own SSO role",
        config: (idc) =>
          `${legacyBase(idc, "app")}aws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\nrole_arn = ${DEPLOYER}\nsource_profile = app\n`,
        expected: {
          ssoRoles: ["111111111111/AdministratorAccess"],
          steps: [`${DEPLOYER} @us-east-1`],
          role: "arn:aws:sts::444444444444:assumed-role/deployer",
        },
      },
      {
        name: "role_arn and source_profile in ~/.aws/credentials, the region of the named profile for every step",
        config: (idc) => `${legacyBase(idc)}\n[profile app]\nregion = ap-south-1\n`,
        credentialsFile: `[mid]\nrole_arn = ${DEPLOYER}\nsource_profile = base\nregion = sa-east-1\n\n[app]\nrole_arn = ${AUDIT}\nsource_profile = mid\nexternal_id = partner-7f3a\n`,
        expected: {
          ssoRoles: ["111111111111/AdministratorAccess"],
          steps: [`${DEPLOYER} @ap-south-1`, `${AUDIT} @ap-south-1`],
          role: "arn:aws:sts::555555555555:assumed-role/audit",
        },
      },
      {
        name: "AWS_REGION over AWS_DEFAULT_REGION over the profile's region",
        config: (idc) =>
          `${legacyBase(idc)}\n[profile app]\nrole_arn = ${DEPLOYER}\nsource_profile = base\nregion = eu-west-1\n`,
        env: { AWS_REGION: "ca-central-1", AWS_DEFAULT_REGION: "eu-north-1" },
        expected: {
          ssoRoles: ["111111111111/AdministratorAccess"],
          steps: [`${DEPLOYER} @ca-central-1`],
          role: "arn:aws:sts::444444444444:assumed-role/deployer",
        },
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        await using idc = await startFakeIdc({ iamRoles: ROLES });
        const options = {
          ...(c.env === undefined ? {} : { env: c.env }),
          ...(c.credentialsFile === undefined ? {} : { credentialsFile: c.credentialsFile }),
        };
        const aws = await observe(idc, c.config(idc), "aws", options);
        const ours = await observe(idc, c.config(idc), "sso-docker", options);
        expect(aws).toEqual(c.expected);
        expect(ours).toEqual(aws);
      });
    }
  },
);
