import { CreateTokenCommand, SSOOIDCClient } from "@aws-sdk/client-sso-oidc";
import {
  GetRoleCredentialsCommand,
  ListAccountRolesCommand,
  LogoutCommand,
  SSOClient,
  paginateListAccountRoles,
  paginateListAccounts,
} from "@aws-sdk/client-sso";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../runtime/clock.js";
import { startFakeIdc, type FakeIdc } from "./server.js";

function ssoClient(idc: FakeIdc): SSOClient {
  return new SSOClient({ endpoint: idc.url, region: "us-east-1", maxAttempts: 1 });
}

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

describe("SSO portal", () => {
  it("pages through accounts and roles at the fake's page size", async () => {
    await using idc = await startFakeIdc({ pageSize: 1 });
    const { accessToken } = idc.createSession();
    const client = ssoClient(idc);

    const accountPages = await collect(paginateListAccounts({ client }, { accessToken }));
    expect(accountPages).toHaveLength(3);
    expect(accountPages.flatMap((p) => p.accountList ?? [])).toEqual(
      idc.accounts.map(({ accountId, accountName, emailAddress }) => ({
        accountId,
        accountName,
        emailAddress,
      })),
    );
    expect(idc.count("/assignment/accounts")).toBe(3);

    const rolePages = await collect(
      paginateListAccountRoles({ client, pageSize: 2 }, { accessToken, accountId: "111111111111" }),
    );
    expect(rolePages.map((p) => p.roleList?.length)).toEqual([2, 1]);
    expect(rolePages.flatMap((p) => p.roleList ?? []).map((r) => r.roleName)).toEqual([
      "AdministratorAccess",
      "PowerUserAccess",
      "ReadOnlyAccess",
    ]);
    expect(idc.requests.at(-1)?.query).toMatchObject({ account_id: "111111111111", max_result: "2" });

    await expect(
      client.send(
        new ListAccountRolesCommand({ accessToken, accountId: "111111111111", nextToken: "bogus" }),
      ),
    ).rejects.toMatchObject({ name: "InvalidRequestException", $metadata: { httpStatusCode: 400 } });
    await expect(
      client.send(new ListAccountRolesCommand({ accessToken, accountId: "999999999999" })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException", $metadata: { httpStatusCode: 404 } });
  });

  it("issues role credentials with an epoch-millisecond expiration", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({ clock, lifetimes: { roleCredentialSeconds: 900 } });
    const { accessToken } = idc.createSession();
    const { roleCredentials } = await ssoClient(idc).send(
      new GetRoleCredentialsCommand({ accessToken, accountId: "222222222222", roleName: "ReadOnlyAccess" }),
    );
    expect(roleCredentials?.expiration).toBe(clock.now() + 900_000);
    expect(roleCredentials?.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(roleCredentials?.secretAccessKey).toBeTruthy();
    expect(roleCredentials?.sessionToken).toBeTruthy();
    expect(idc.issuedCredentials()).toEqual([
      {
        accessKeyId: roleCredentials?.accessKeyId,
        accountId: "222222222222",
        roleName: "ReadOnlyAccess",
        expiration: clock.now() + 900_000,
        issuedBy: "GetRoleCredentials",
        sessionName: "developer",
      },
    ]);
  });

  it("refuses unknown tokens, unassigned roles and expired sessions", async () => {
    await using idc = await startFakeIdc();
    const client = ssoClient(idc);
    const get = (accessToken: string, roleName = "ReadOnlyAccess") =>
      client.send(new GetRoleCredentialsCommand({ accessToken, accountId: "333333333333", roleName }));
    await expect(get("not-a-token")).rejects.toMatchObject({
      name: "UnauthorizedException",
      message: "Session token not found or invalid",
      $metadata: { httpStatusCode: 401 },
    });
    const { accessToken } = idc.createSession();
    await expect(get(accessToken, "AdministratorAccess")).rejects.toMatchObject({
      name: "ForbiddenException",
      message: "No access",
      $metadata: { httpStatusCode: 403 },
    });
    idc.expireAccessTokens();
    await expect(get(accessToken)).rejects.toMatchObject({ name: "UnauthorizedException" });
  });

  it("answers 403 ForbiddenException for a role whose assignment was removed, until it is given back", async () => {
    await using idc = await startFakeIdc();
    const client = ssoClient(idc);
    const { accessToken } = idc.createSession();
    const get = () =>
      client.send(
        new GetRoleCredentialsCommand({ accessToken, accountId: "222222222222", roleName: "ReadOnlyAccess" }),
      );
    const roles = async () =>
      (
        await client.send(new ListAccountRolesCommand({ accessToken, accountId: "222222222222" }))
      ).roleList?.map((r) => r.roleName);
    const before = await get();
    idc.unassignRole("222222222222", "ReadOnlyAccess");
    await expect(get()).rejects.toMatchObject({
      name: "ForbiddenException",
      message: "No access",
      $metadata: { httpStatusCode: 403 },
    });
    expect(await roles()).toEqual(["PowerUserAccess"]);
    // What was issued before stays in the fake's books (STS accepts it until it expires).
    expect(idc.issuedCredentials().map((c) => c.accessKeyId)).toContain(before.roleCredentials?.accessKeyId);
    idc.assignRole("222222222222", "ReadOnlyAccess");
    expect((await get()).roleCredentials?.accessKeyId).toMatch(/^ASIA/);
    expect(await roles()).toEqual(["PowerUserAccess", "ReadOnlyAccess"]);
    expect(() => {
      idc.unassignRole("999999999999", "ReadOnlyAccess");
    }).toThrow("No account 999999999999.");
  });

  it("logout revokes the access token and its refresh token", async () => {
    await using idc = await startFakeIdc();
    const session = idc.createSession();
    const client = ssoClient(idc);
    await client.send(new LogoutCommand({ accessToken: session.accessToken }));
    await expect(
      client.send(
        new ListAccountRolesCommand({ accessToken: session.accessToken, accountId: "111111111111" }),
      ),
    ).rejects.toMatchObject({ name: "UnauthorizedException" });
    const oidc = new SSOOIDCClient({ endpoint: idc.url, region: "us-east-1", maxAttempts: 1 });
    await expect(
      oidc.send(
        new CreateTokenCommand({
          clientId: session.clientId,
          clientSecret: session.clientSecret,
          grantType: "refresh_token",
          refreshToken: session.refreshToken!,
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidGrantException" });
  });

  it("delivers injected failures with the status and error name, then recovers", async () => {
    await using idc = await startFakeIdc();
    const { accessToken } = idc.createSession();
    const client = ssoClient(idc);
    const get = () =>
      client.send(
        new GetRoleCredentialsCommand({ accessToken, accountId: "111111111111", roleName: "ReadOnlyAccess" }),
      );
    idc.failNext({ path: "/federation/credentials", status: 429, count: 2 });
    await expect(get()).rejects.toMatchObject({
      name: "TooManyRequestsException",
      $metadata: { httpStatusCode: 429 },
    });
    await expect(get()).rejects.toMatchObject({ name: "TooManyRequestsException" });
    idc.failNext({ path: "/federation/credentials", status: 503, errorType: "ServiceUnavailableException" });
    await expect(get()).rejects.toMatchObject({
      name: "ServiceUnavailableException",
      $fault: "server",
      $metadata: { httpStatusCode: 503 },
    });
    expect((await get()).roleCredentials?.accessKeyId).toBeTruthy();
    expect(idc.count("/federation/credentials", { status: 429 })).toBe(2);
  });

  it("holds the next GetRoleCredentials unanswered until released, and only that one", async () => {
    await using idc = await startFakeIdc();
    const { accessToken } = idc.createSession();
    const client = ssoClient(idc);
    const get = () =>
      client.send(
        new GetRoleCredentialsCommand({ accessToken, accountId: "111111111111", roleName: "ReadOnlyAccess" }),
      );
    const hold = idc.holdNext("/federation/credentials");
    const held = get();
    await hold.arrived;
    // Others are answered meanwhile; the held one is not (the log records a request once answered).
    expect((await get()).roleCredentials?.accessKeyId).toBeTruthy();
    expect(idc.count("/federation/credentials")).toBe(1);
    hold.release();
    expect((await held).roleCredentials?.accessKeyId).toBeTruthy();
    expect(idc.count("/federation/credentials")).toBe(2);
  });

  it("keeps secrets out of the request log", async () => {
    await using idc = await startFakeIdc();
    const session = idc.createSession();
    const { roleCredentials } = await ssoClient(idc).send(
      new GetRoleCredentialsCommand({
        accessToken: session.accessToken,
        accountId: "111111111111",
        roleName: "ReadOnlyAccess",
      }),
    );
    await fetch(`${idc.url}/authorize?code=secret-code&state=secret-state&client_id=x`);
    const log = JSON.stringify(idc.requests);
    for (const secret of [
      session.accessToken,
      session.refreshToken!,
      roleCredentials!.secretAccessKey!,
      roleCredentials!.sessionToken!,
      "secret-code",
      "secret-state",
    ]) {
      expect(log).not.toContain(secret);
    }
  });
});
