import {
  CreateTokenCommand,
  RegisterClientCommand,
  SSOOIDCClient,
  StartDeviceAuthorizationCommand,
  type RegisterClientCommandInput,
} from "@aws-sdk/client-sso-oidc";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../runtime/clock.js";
import { startFakeIdc, type FakeIdc } from "./server.js";

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPES = ["sso:account:access"];

function oidcClient(idc: FakeIdc): SSOOIDCClient {
  return new SSOOIDCClient({ endpoint: idc.url, region: "us-east-1", maxAttempts: 1 });
}

async function register(client: SSOOIDCClient, extra: Partial<RegisterClientCommandInput> = {}) {
  const reg = await client.send(
    new RegisterClientCommand({
      clientName: "sso-docker-test",
      clientType: "public",
      scopes: SCOPES,
      ...extra,
    }),
  );
  return { clientId: reg.clientId!, clientSecret: reg.clientSecret!, reg };
}

/** Register, start a device authorization and return what a poller needs. */
async function startDevice(idc: FakeIdc, scopes = SCOPES) {
  const client = oidcClient(idc);
  const { clientId, clientSecret } = await register(client, { scopes });
  const next = idc.nextDeviceAuthorization();
  const auth = await client.send(
    new StartDeviceAuthorizationCommand({ clientId, clientSecret, startUrl: idc.startUrl }),
  );
  const event = await next;
  const poll = () =>
    client.send(
      new CreateTokenCommand({
        clientId,
        clientSecret,
        grantType: DEVICE_GRANT,
        deviceCode: auth.deviceCode!,
      }),
    );
  return { client, clientId, clientSecret, auth, event, poll };
}

describe("SSO OIDC device flow", () => {
  it("registers with epoch-second timestamps and walks pending → approved → token", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({ clock });
    const client = oidcClient(idc);
    const { reg } = await register(client);
    expect(reg.clientIdIssuedAt).toBe(clock.now() / 1000);
    expect(reg.clientSecretExpiresAt).toBe(clock.now() / 1000 + 90 * 86400);

    const { auth, event, poll } = await startDevice(idc);
    expect(auth).toMatchObject({ expiresIn: 600, interval: 1, verificationUri: `${idc.url}/device` });
    expect(auth.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(auth.verificationUriComplete).toBe(`${idc.url}/device?user_code=${auth.userCode}`);
    expect(event).toMatchObject({ userCode: auth.userCode, startUrl: idc.startUrl });

    await expect(poll()).rejects.toMatchObject({
      name: "AuthorizationPendingException",
      error: "authorization_pending",
      $metadata: { httpStatusCode: 400 },
    });
    idc.approveDevice(event.userCode.toLowerCase());
    clock.advance(1000);
    const token = await poll();
    expect(token).toMatchObject({ tokenType: "Bearer", expiresIn: 8 * 3600 });
    expect(token.accessToken).toBeTruthy();
    expect(token.refreshToken).toBeTruthy();
    clock.advance(1000);
    await expect(poll()).rejects.toMatchObject({ name: "InvalidGrantException" });
    expect(idc.count("/token", { operation: "device_code" })).toBe(3);
  });

  it("answers SlowDown when polled sooner than the interval", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({ clock, lifetimes: { pollIntervalSeconds: 5 } });
    const { poll } = await startDevice(idc);
    await expect(poll()).rejects.toMatchObject({ name: "AuthorizationPendingException" });
    clock.advance(4999);
    await expect(poll()).rejects.toMatchObject({ name: "SlowDownException", error: "slow_down" });
    clock.advance(5000);
    await expect(poll()).rejects.toMatchObject({ name: "AuthorizationPendingException" });
  });

  it("reports a denied request as AccessDeniedException", async () => {
    await using idc = await startFakeIdc({ lifetimes: { pollIntervalSeconds: 0 } });
    const { event, poll } = await startDevice(idc);
    idc.denyDevice(event.userCode);
    await expect(poll()).rejects.toMatchObject({ name: "AccessDeniedException", error: "access_denied" });
  });

  it("expires device codes", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({ clock, lifetimes: { deviceCodeSeconds: 30 } });
    const { auth, event, poll } = await startDevice(idc);
    expect(auth.expiresIn).toBe(30);
    clock.advance(30_000);
    await expect(poll()).rejects.toMatchObject({ name: "ExpiredTokenException", error: "expired_token" });
    expect(() => {
      idc.approveDevice(event.userCode);
    }).toThrow(/expired/);
  });

  it("lets a person approve or deny on the verification page", async () => {
    await using idc = await startFakeIdc({ lifetimes: { pollIntervalSeconds: 0 } });
    const { auth, poll } = await startDevice(idc);
    const page = await fetch(auth.verificationUriComplete!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(auth.userCode);
    expect(html).toContain('value="approve"');
    const answer = await fetch(`${idc.url}/device`, {
      method: "POST",
      body: new URLSearchParams({ user_code: auth.userCode!, decision: "approve" }),
    });
    expect(await answer.text()).toContain("approved");
    expect((await poll()).accessToken).toBeTruthy();
    expect((await fetch(`${idc.url}/device?user_code=ZZZZ-ZZZZ`)).status).toBe(404);
  });

  it("auto-approves on the first poll and gives legacy (scopeless) clients no refresh token", async () => {
    await using idc = await startFakeIdc({ autoApprove: true });
    const { poll } = await startDevice(idc, []);
    const token = await poll();
    expect(token.accessToken).toBeTruthy();
    expect(token.refreshToken).toBeUndefined();
  });

  it("rejects bad clients, grants and requests with the modelled errors", async () => {
    const clock = new FakeClock();
    await using idc = await startFakeIdc({ clock, lifetimes: { registrationSeconds: 60 } });
    const client = oidcClient(idc);
    const { clientId, clientSecret } = await register(client);
    const start = (secret: string) =>
      client.send(
        new StartDeviceAuthorizationCommand({ clientId, clientSecret: secret, startUrl: idc.startUrl }),
      );
    await expect(start("wrong")).rejects.toMatchObject({
      name: "InvalidClientException",
      $metadata: { httpStatusCode: 401 },
    });
    await expect(
      client.send(new CreateTokenCommand({ clientId, clientSecret, grantType: "password" })),
    ).rejects.toMatchObject({ name: "UnsupportedGrantTypeException" });
    await expect(
      client.send(new CreateTokenCommand({ clientId, clientSecret, grantType: DEVICE_GRANT })),
    ).rejects.toMatchObject({ name: "InvalidRequestException" });
    await expect(
      client.send(
        new CreateTokenCommand({ clientId, clientSecret, grantType: DEVICE_GRANT, deviceCode: "nope" }),
      ),
    ).rejects.toMatchObject({ name: "InvalidGrantException" });
    clock.advance(60_000);
    await expect(start(clientSecret)).rejects.toMatchObject({ name: "InvalidClientException" });
  });
});

describe("SSO OIDC refresh_token grant", () => {
  it("rotates the refresh token and invalidates the old one", async () => {
    await using idc = await startFakeIdc({ autoApprove: true });
    const { client, clientId, clientSecret, poll } = await startDevice(idc);
    const first = await poll();
    const refresh = (refreshToken: string) =>
      client.send(
        new CreateTokenCommand({ clientId, clientSecret, grantType: "refresh_token", refreshToken }),
      );
    const second = await refresh(first.refreshToken!);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).toBeTruthy();
    expect(second.refreshToken).not.toBe(first.refreshToken);
    await expect(refresh(first.refreshToken!)).rejects.toMatchObject({ name: "InvalidGrantException" });
    expect((await refresh(second.refreshToken!)).accessToken).toBeTruthy();
    expect(idc.count("/token", { operation: "refresh_token", status: 200 })).toBe(2);
  });

  it("lets refresh outlive expired access tokens, but not revoked sessions", async () => {
    await using idc = await startFakeIdc({ autoApprove: true });
    const { client, clientId, clientSecret, poll } = await startDevice(idc);
    const refresh = (refreshToken: string) =>
      client.send(
        new CreateTokenCommand({ clientId, clientSecret, grantType: "refresh_token", refreshToken }),
      );
    const first = await poll();
    idc.expireAccessTokens();
    const second = await refresh(first.refreshToken!);
    idc.revokeAllSessions();
    await expect(refresh(second.refreshToken!)).rejects.toMatchObject({ name: "InvalidGrantException" });
  });

  it("delivers injected failures with the status and error name", async () => {
    await using idc = await startFakeIdc({ autoApprove: true });
    const { poll } = await startDevice(idc);
    idc.failNext({ path: "/token", status: 500 });
    await expect(poll()).rejects.toMatchObject({
      name: "InternalServerException",
      $fault: "server",
      $metadata: { httpStatusCode: 500 },
    });
    expect((await poll()).accessToken).toBeTruthy();
    expect(idc.count("/token", { status: 500, errorType: "InternalServerException" })).toBe(1);
  });
});
