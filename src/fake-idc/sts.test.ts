import { Sha256 } from "@aws-crypto/sha256-js";
import { GetRoleCredentialsCommand, SSOClient } from "@aws-sdk/client-sso";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../runtime/clock.js";
import { startFakeIdc, type FakeIdc } from "./server.js";

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

async function issue(idc: FakeIdc, accountId = "111111111111", roleName = "ReadOnlyAccess"): Promise<Creds> {
  const { accessToken } = idc.createSession();
  const sso = new SSOClient({ endpoint: idc.url, region: "us-east-1", maxAttempts: 1 });
  const { roleCredentials: c } = await sso.send(
    new GetRoleCredentialsCommand({ accessToken, accountId, roleName }),
  );
  return {
    accessKeyId: c!.accessKeyId!,
    secretAccessKey: c!.secretAccessKey!,
    sessionToken: c!.sessionToken!,
  };
}

function sts(idc: FakeIdc, credentials: Creds): STSClient {
  return new STSClient({ endpoint: idc.url, region: "us-east-1", credentials, maxAttempts: 1 });
}

describe("STS GetCallerIdentity", () => {
  it("answers a request signed by the JS SDK with the issued credentials", async () => {
    await using idc = await startFakeIdc({ userName: "alice" });
    const creds = await issue(idc, "222222222222", "PowerUserAccess");
    const identity = await sts(idc, creds).send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({
      Account: "222222222222",
      Arn: "arn:aws:sts::222222222222:assumed-role/PowerUserAccess/alice",
    });
    expect(identity.UserId).toMatch(/^AROA[0-9A-F]{17}:alice$/);
    expect(idc.count("/", { operation: "GetCallerIdentity", status: 200 })).toBe(1);
  });

  it("rejects a tampered secret, an unknown key, a wrong session token and expired credentials", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({ clock });
    const creds = await issue(idc);
    const call = (c: Creds) => sts(idc, c).send(new GetCallerIdentityCommand({}));
    await expect(call({ ...creds, secretAccessKey: creds.secretAccessKey + "x" })).rejects.toMatchObject({
      name: "SignatureDoesNotMatch",
      $metadata: { httpStatusCode: 403 },
    });
    await expect(call({ ...creds, accessKeyId: "ASIAAAAAAAAAAAAAAAAA" })).rejects.toMatchObject({
      name: "InvalidClientTokenId",
      $metadata: { httpStatusCode: 403 },
    });
    await expect(call({ ...creds, sessionToken: "forged" })).rejects.toMatchObject({
      name: "InvalidClientTokenId",
    });
    clock.advance(3600_000);
    await expect(call(creds)).rejects.toMatchObject({
      name: "ExpiredToken",
      message: "The security token included in the request is expired",
    });
  });

  it("answers unsigned requests and other actions with STS XML errors", async () => {
    await using idc = await startFakeIdc();
    const post = (body: string) =>
      fetch(idc.url + "/", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    const unsigned = await post("Action=GetCallerIdentity&Version=2011-06-15");
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toMatch(/<Code>MissingAuthenticationToken<\/Code>/);
    const other = await post("Action=GetSessionToken&Version=2011-06-15");
    expect(other.status).toBe(400);
    expect(await other.text()).toMatch(/<Code>InvalidAction<\/Code>/);
  });

  it("speaks the awsJson 1.0 variant too", async () => {
    await using idc = await startFakeIdc();
    const creds = await issue(idc);
    const { hostname, port } = new URL(idc.url);
    const signer = new SignatureV4({
      credentials: creds,
      region: "us-east-1",
      service: "sts",
      sha256: Sha256,
    });
    const request = await signer.sign({
      method: "POST",
      protocol: "http:",
      hostname,
      port: Number(port),
      path: "/",
      headers: {
        host: `${hostname}:${port}`,
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "AWSSecurityTokenServiceV20110615.GetCallerIdentity",
      },
      body: "{}",
    });
    const res = await fetch(idc.url + "/", { method: "POST", headers: request.headers, body: "{}" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ Account: "111111111111" });
  });

  it("delivers injected failures as STS errors", async () => {
    await using idc = await startFakeIdc();
    const creds = await issue(idc);
    idc.failNext({
      path: "/",
      status: 400,
      errorType: "RegionDisabledException",
      message: "STS is not activated",
    });
    await expect(sts(idc, creds).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: "RegionDisabledException",
      message: "STS is not activated",
    });
  });
});
