import { GetRoleCredentialsCommand, SSOClient } from "@aws-sdk/client-sso";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { AssumeRoleCommandInput } from "@aws-sdk/client-sts";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../runtime/clock.js";
import { startFakeIdc, type FakeIdc } from "./server.js";
import type { FakeIamRole } from "./types.js";

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

const ROLES: readonly FakeIamRole[] = [
  { accountId: "444444444444", roleName: "deployer", maxSessionSeconds: 7200 },
  { accountId: "444444444444", roleName: "reader", path: "/teams/app/" },
  {
    accountId: "555555555555",
    roleName: "audit",
    externalId: "partner-7f3a",
    trustedPrincipals: ["arn:aws:iam::444444444444:root"],
  },
  {
    accountId: "555555555555",
    roleName: "only-admins",
    trustedPrincipals: ["arn:aws:iam::111111111111:role/AdministratorAccess"],
  },
];
const DEPLOYER = "arn:aws:iam::444444444444:role/deployer";
const READER = "arn:aws:iam::444444444444:role/teams/app/reader";
const AUDIT = "arn:aws:iam::555555555555:role/audit";
const ONLY_ADMINS = "arn:aws:iam::555555555555:role/only-admins";

async function ssoCredentials(idc: FakeIdc, roleName = "ReadOnlyAccess"): Promise<Creds> {
  const { accessToken } = idc.createSession();
  const sso = new SSOClient({ endpoint: idc.url, region: "us-east-1", maxAttempts: 1 });
  const { roleCredentials: c } = await sso.send(
    new GetRoleCredentialsCommand({ accessToken, accountId: "111111111111", roleName }),
  );
  return {
    accessKeyId: c!.accessKeyId!,
    secretAccessKey: c!.secretAccessKey!,
    sessionToken: c!.sessionToken!,
  };
}

function sts(idc: FakeIdc, credentials: Creds): STSClient {
  return new STSClient({ endpoint: idc.url, region: "eu-west-1", credentials, maxAttempts: 1 });
}

async function assume(idc: FakeIdc, caller: Creds, input: Partial<AssumeRoleCommandInput>) {
  const out = await sts(idc, caller).send(
    new AssumeRoleCommand({ RoleArn: DEPLOYER, RoleSessionName: "alice", ...input }),
  );
  const c = out.Credentials!;
  const creds: Creds = {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken!,
  };
  return { out, creds };
}

describe("STS AssumeRole", () => {
  it("issues credentials for the role, whose GetCallerIdentity is the assumed role and session", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({ clock, iamRoles: ROLES });
    const { out, creds } = await assume(idc, await ssoCredentials(idc), { DurationSeconds: 900 });
    expect(out.AssumedRoleUser).toEqual({
      Arn: "arn:aws:sts::444444444444:assumed-role/deployer/alice",
      AssumedRoleId: expect.stringMatching(/^AROA[0-9A-F]{17}:alice$/) as unknown,
    });
    expect(out.Credentials?.Expiration?.getTime()).toBe(clock.now() + 900_000);
    const identity = await sts(idc, creds).send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({
      Account: "444444444444",
      Arn: "arn:aws:sts::444444444444:assumed-role/deployer/alice",
      UserId: out.AssumedRoleUser?.AssumedRoleId,
    });
    expect(idc.issuedCredentials().find((c) => c.accessKeyId === creds.accessKeyId)).toMatchObject({
      issuedBy: "AssumeRole",
      accountId: "444444444444",
      roleName: "deployer",
      sessionName: "alice",
    });
    expect(idc.count("/", { operation: "AssumeRole", status: 200, roleArn: DEPLOYER })).toBe(1);
    expect(idc.requests.find((e) => e.operation === "AssumeRole")?.signingRegion).toBe("eu-west-1");
  });

  it("defaults to one hour, and the ARN of a role with a path names the role only", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({ clock, iamRoles: ROLES });
    const { out } = await assume(idc, await ssoCredentials(idc), { RoleArn: READER });
    expect(out.AssumedRoleUser?.Arn).toBe("arn:aws:sts::444444444444:assumed-role/reader/alice");
    expect(out.Credentials?.Expiration?.getTime()).toBe(clock.now() + 3600_000);
  });

  it("chains: AssumeRole signed with AssumeRole's credentials, with the ExternalId the role requires", async () => {
    await using idc = await startFakeIdc({ iamRoles: ROLES });
    const first = await assume(idc, await ssoCredentials(idc), {});
    const second = await assume(idc, first.creds, {
      RoleArn: AUDIT,
      RoleSessionName: "bob@example.com",
      ExternalId: "partner-7f3a",
    });
    const identity = await sts(idc, second.creds).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe("arn:aws:sts::555555555555:assumed-role/audit/bob@example.com");
  });

  it("refuses with AccessDenied: an unknown role, a caller the trust policy does not name, a wrong or missing ExternalId", async () => {
    await using idc = await startFakeIdc({ iamRoles: ROLES });
    const sso = await ssoCredentials(idc);
    const deployer = (await assume(idc, sso, {})).creds;
    const denied = (caller: Creds, input: Partial<AssumeRoleCommandInput>) =>
      expect(assume(idc, caller, input)).rejects.toMatchObject({
        name: "AccessDenied",
        $metadata: { httpStatusCode: 403 },
        message: `User: arn:aws:sts::${caller === sso ? "111111111111:assumed-role/ReadOnlyAccess/developer" : "444444444444:assumed-role/deployer/alice"} is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
      });
    await denied(sso, { RoleArn: "arn:aws:iam::444444444444:role/nope" });
    await denied(sso, { RoleArn: ONLY_ADMINS });
    await denied(sso, { RoleArn: AUDIT, ExternalId: "partner-7f3a" });
    await denied(deployer, { RoleArn: AUDIT, ExternalId: "wrong-id" });
    await denied(deployer, { RoleArn: AUDIT });
    const admin = await ssoCredentials(idc, "AdministratorAccess");
    await expect(assume(idc, admin, { RoleArn: ONLY_ADMINS })).resolves.toBeDefined();
  });

  it("refuses bad parameters with ValidationError, in STS's own words", async () => {
    await using idc = await startFakeIdc({ iamRoles: ROLES });
    const sso = await ssoCredentials(idc);
    const invalid = (input: Partial<AssumeRoleCommandInput>, message: string) =>
      expect(assume(idc, sso, input)).rejects.toMatchObject({
        name: "ValidationError",
        $metadata: { httpStatusCode: 400 },
        message,
      });
    await invalid(
      { RoleSessionName: "has space" },
      "1 validation error detected: Value 'has space' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    );
    await invalid(
      { RoleSessionName: "x".repeat(65), DurationSeconds: 600 },
      `2 validation errors detected: Value '${"x".repeat(65)}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64; ` +
        "Value '600' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
    await invalid(
      { ExternalId: "a b" },
      "1 validation error detected: Value 'a b' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*",
    );
    await invalid({ RoleArn: "not-an-arn-but-long-enough" }, "Request ARN is invalid");
    await invalid(
      { DurationSeconds: 43200 },
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
    await invalid(
      { DurationSeconds: 7200 },
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
    expect(idc.issuedCredentials().filter((c) => c.issuedBy === "AssumeRole")).toEqual([]);
  });

  it("refuses expired and unknown caller credentials, and unsigned requests", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({ clock, iamRoles: ROLES });
    const sso = await ssoCredentials(idc);
    await expect(assume(idc, { ...sso, accessKeyId: "ASIAAAAAAAAAAAAAAAAA" }, {})).rejects.toMatchObject({
      name: "InvalidClientTokenId",
    });
    clock.advance(3600_000);
    await expect(assume(idc, sso, {})).rejects.toMatchObject({
      name: "ExpiredToken",
      message: "The security token included in the request is expired",
    });
    const unsigned = await fetch(idc.url + "/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `Action=AssumeRole&Version=2011-06-15&RoleArn=${encodeURIComponent(DEPLOYER)}&RoleSessionName=x1`,
    });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toMatch(
      /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\n {2}<Error>\n {4}<Type>Sender<\/Type>\n {4}<Code>MissingAuthenticationToken<\/Code>/,
    );
    expect(idc.count("/", { operation: "AssumeRole", roleArn: DEPLOYER })).toBe(3);
  });

  it("caps the lifetime it grants at assumedRoleCapSeconds, for rotation tests", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({
      clock,
      iamRoles: ROLES,
      lifetimes: { assumedRoleCapSeconds: 30 },
    });
    const { out } = await assume(idc, await ssoCredentials(idc), { DurationSeconds: 900 });
    expect(out.Credentials?.Expiration?.getTime()).toBe(clock.now() + 30_000);
  });
});
