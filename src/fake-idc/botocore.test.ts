import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { GetRoleCredentialsCommand, SSOClient } from "@aws-sdk/client-sso";
import { describe, expect, it } from "vitest";
import { startFakeIdc, type FakeIdc } from "./server.js";

/** Non-JS clients against the fake: the AWS CLI v2 (its bundled botocore) and Debian's boto3. */

const run = promisify(execFile);
const AWS_CLI = "/usr/bin/aws";
const PYTHON = "/usr/bin/python3";
const hasBoto3 = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import boto3"]).status === 0;

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

async function issue(idc: FakeIdc): Promise<Creds> {
  const { accessToken } = idc.createSession();
  const sso = new SSOClient({ endpoint: idc.url, region: "us-east-1", maxAttempts: 1 });
  const { roleCredentials: c } = await sso.send(
    new GetRoleCredentialsCommand({ accessToken, accountId: "111111111111", roleName: "ReadOnlyAccess" }),
  );
  return {
    accessKeyId: c!.accessKeyId!,
    secretAccessKey: c!.secretAccessKey!,
    sessionToken: c!.sessionToken!,
  };
}

/** A clean environment so nothing from the developer's own AWS setup leaks in. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: tmpdir(),
    AWS_CONFIG_FILE: "/nonexistent",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_PAGER: "",
    ...extra,
  };
}

function credsEnv(creds: Creds): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_SESSION_TOKEN: creds.sessionToken,
  };
}

// Polls like a real client would (the fake's interval is 0); the test itself only reacts to events.
const BOTO3_FLOW = `
import json, os, time, boto3
url = os.environ["IDC_URL"]
oidc = boto3.client("sso-oidc", endpoint_url=url, region_name="us-east-1")
reg = oidc.register_client(clientName="boto3", clientType="public", scopes=["sso:account:access"])
client = {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]}
auth = oidc.start_device_authorization(startUrl=url + "/start", **client)
seen = []
while True:
    try:
        tok = oidc.create_token(grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=auth["deviceCode"], **client)
        break
    except oidc.exceptions.AuthorizationPendingException as e:
        seen.append(e.response["Error"]["Code"])
        if len(seen) > 200: raise
        time.sleep(0.02)
tok = oidc.create_token(grantType="refresh_token", refreshToken=tok["refreshToken"], **client)
sso = boto3.client("sso", endpoint_url=url, region_name="us-east-1")
pages = sso.get_paginator("list_accounts").paginate(accessToken=tok["accessToken"])
accounts = [a["accountId"] for p in pages for a in p["accountList"]]
rc = sso.get_role_credentials(accessToken=tok["accessToken"], accountId="111111111111", roleName="ReadOnlyAccess")["roleCredentials"]
try:
    sso.get_role_credentials(accessToken="bad", accountId="111111111111", roleName="ReadOnlyAccess")
    unauthorized = None
except sso.exceptions.UnauthorizedException as e:
    unauthorized = e.response["Error"]["Code"]
sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1", aws_access_key_id=rc["accessKeyId"],
                   aws_secret_access_key=rc["secretAccessKey"], aws_session_token=rc["sessionToken"])
print(json.dumps({"pending": seen[:1], "accounts": accounts, "unauthorized": unauthorized,
                  "expirationMs": rc["expiration"], "arn": sts.get_caller_identity()["Arn"]}))
`;

describe("non-JS clients", () => {
  it.skipIf(!existsSync(AWS_CLI))("the AWS CLI v2 signs STS requests the fake verifies", async () => {
    await using idc = await startFakeIdc();
    const creds = await issue(idc);
    const args = ["sts", "get-caller-identity", "--endpoint-url", idc.url, "--output", "json"];
    const { stdout } = await run(AWS_CLI, args, { env: cleanEnv(credsEnv(creds)) });
    expect(JSON.parse(stdout)).toMatchObject({ Account: "111111111111" });

    const forged = cleanEnv(credsEnv({ ...creds, secretAccessKey: "x" + creds.secretAccessKey }));
    const failure = await run(AWS_CLI, args, { env: forged }).then(
      () => undefined,
      (error: unknown) => error as { stderr: string },
    );
    expect(failure?.stderr).toMatch(/SignatureDoesNotMatch/);
  });

  it.skipIf(!existsSync(AWS_CLI))(
    "the AWS CLI v2 assumes roles, in a chain, and reads STS's refusals",
    async () => {
      await using idc = await startFakeIdc({
        iamRoles: [
          { accountId: "444444444444", roleName: "deployer" },
          { accountId: "555555555555", roleName: "audit", externalId: "partner-7f3a" },
        ],
      });
      const assume = (creds: Creds, ...args: string[]) =>
        run(
          AWS_CLI,
          [
            "sts",
            "assume-role",
            "--endpoint-url",
            idc.url,
            "--output",
            "json",
            "--role-session-name",
            "cli",
            ...args,
          ],
          { env: cleanEnv(credsEnv(creds)) },
        ).then(
          ({ stdout }) => {
            const { Credentials: c, AssumedRoleUser: user } = JSON.parse(stdout) as {
              Credentials: {
                AccessKeyId: string;
                SecretAccessKey: string;
                SessionToken: string;
                Expiration: string;
              };
              AssumedRoleUser: { Arn: string };
            };
            const next = {
              accessKeyId: c.AccessKeyId,
              secretAccessKey: c.SecretAccessKey,
              sessionToken: c.SessionToken,
            };
            return { arn: user.Arn, expiration: c.Expiration, creds: next };
          },
          (error: unknown) => {
            throw new Error((error as { stderr: string }).stderr.trim());
          },
        );
      const first = await assume(await issue(idc), "--role-arn", "arn:aws:iam::444444444444:role/deployer");
      expect(first.arn).toBe("arn:aws:sts::444444444444:assumed-role/deployer/cli");
      expect(Date.parse(first.expiration)).toBe(idc.issuedCredentials().at(-1)?.expiration);
      const audit = "arn:aws:iam::555555555555:role/audit";
      const second = await assume(first.creds, "--role-arn", audit, "--external-id", "partner-7f3a");
      expect(second.arn).toBe("arn:aws:sts::555555555555:assumed-role/audit/cli");

      await expect(assume(first.creds, "--role-arn", audit)).rejects.toThrow(
        "An error occurred (AccessDenied) when calling the AssumeRole operation: User: " +
          `arn:aws:sts::444444444444:assumed-role/deployer/cli is not authorized to perform: sts:AssumeRole on resource: ${audit}`,
      );
      await expect(
        assume(
          first.creds,
          "--role-arn",
          audit,
          "--external-id",
          "partner-7f3a",
          "--duration-seconds",
          "7200",
        ),
      ).rejects.toThrow(
        "An error occurred (ValidationError) when calling the AssumeRole operation: " +
          "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
      );
    },
  );

  it.skipIf(!hasBoto3)("boto3 runs the device flow, refresh, portal and STS", async () => {
    const ref: { idc?: FakeIdc } = {};
    let approved = false;
    // Approve once the client has seen AuthorizationPending: an event, not a timer.
    const onRequest = (entry: { errorType?: string }) => {
      const fake = ref.idc;
      if (entry.errorType !== "AuthorizationPendingException" || approved || !fake) return;
      approved = true;
      void fake.nextDeviceAuthorization().then((event) => {
        fake.approveDevice(event.userCode);
      });
    };
    await using started = await startFakeIdc({
      lifetimes: { pollIntervalSeconds: 0 },
      pageSize: 2,
      onRequest,
    });
    ref.idc = started;
    const { stdout } = await run(PYTHON, ["-c", BOTO3_FLOW], { env: cleanEnv({ IDC_URL: started.url }) });
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      pending: ["AuthorizationPendingException"],
      accounts: ["111111111111", "222222222222", "333333333333"],
      unauthorized: "UnauthorizedException",
      arn: "arn:aws:sts::111111111111:assumed-role/ReadOnlyAccess/developer",
    });
    expect(started.issuedCredentials()[0]?.expiration).toBe(result["expirationMs"]);
    expect(started.count("/token", { operation: "refresh_token", status: 200 })).toBe(1);
    expect(started.count("/assignment/accounts")).toBe(2);
  });
});
