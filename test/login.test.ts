import { readFile, stat } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { getAccessToken } from "../src/auth/access-token.js";
import type { LoginUi } from "../src/auth/login.js";
import { login } from "../src/auth/login.js";
import { tokenCachePath } from "../src/aws-files/token-cache.js";
import { CredentialSource } from "../src/credentials/credential-source.js";
import { resolveProfile } from "../src/credentials/resolve-profile.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import { FakeClock } from "../src/runtime/clock.js";
import { LoginError, SessionExpiredError } from "../src/runtime/errors.js";
import { makeTestHome, sampleConfig } from "./support/host.js";

/** A login UI that records what the person was shown and lets the test act as them. */
function recordingUi(onDevice?: (userCode: string) => void): LoginUi & { shown: string[] } {
  const shown: string[] = [];
  return {
    shown,
    devicePrompt: (p) => {
      shown.push(`device ${p.userCode} ${p.verificationUriComplete}`);
      onDevice?.(p.userCode);
    },
    authorizePrompt: (p) => {
      shown.push(`authorize ${p.authorizeUrl}`);
    },
  };
}

/** Plays the browser in the PKCE flow: follows the authorize redirect back to our loopback server. */
async function browserFollowingRedirect(url: string): Promise<boolean> {
  const authorize = await fetch(url, { redirect: "manual" });
  const location = authorize.headers.get("location");
  if (!location) throw new Error(`authorize answered ${authorize.status} without a redirect`);
  const callback = await fetch(location);
  await callback.text();
  return true;
}

describe("device code login", () => {
  it("polls while pending, then writes an AWS CLI token file once approved", async () => {
    await using idc = await startFakeIdc();
    await using home = await makeTestHome({ endpointEnv: idc.endpointEnv() });
    const deps = home.deps({ env: { SSH_CONNECTION: "1 2 3 4" } }); // no local browser: device flow
    const { session, endpoints } = await (async () => {
      await import("node:fs/promises").then((fs) =>
        fs.writeFile(home.configFile, sampleConfig(idc.startUrl)),
      );
      return resolveProfile(deps, "dev");
    })();
    const ui = recordingUi((code) => {
      // Approve only after the first poll has been answered "pending".
      expect(idc.count("/token", { errorType: "AuthorizationPendingException" })).toBeGreaterThan(0);
      idc.approveDevice(code);
    });
    const result = await login(deps, session, { ui, oidcEndpoint: endpoints.oidc, openBrowser: false });

    expect(result.flow).toBe("device");
    expect(ui.shown[0]).toMatch(/^device [A-Z0-9-]+ http/);
    const path = tokenCachePath(deps.paths.ssoCacheDir, session);
    // sha1("my-sso"): the AWS CLI's file name for this session.
    expect(path.endsWith("/0ad374308c5a4e22f723adf10145eafad7c4031c.json")).toBe(true);
    const token = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    expect(Object.keys(token)).toEqual([
      "startUrl",
      "region",
      "accessToken",
      "expiresAt",
      "clientId",
      "clientSecret",
      "registrationExpiresAt",
      "refreshToken",
    ]);
    expect(token["startUrl"]).toBe(idc.startUrl);
    expect(token["expiresAt"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("adds 5 seconds to the poll interval on SlowDown", async () => {
    const clock = new FakeClock(Date.now());
    await using idc = await startFakeIdc({ clock });
    await using home = await makeTestHome({
      config: sampleConfig("https://x.awsapps.com/start"),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ clock, env: { SSH_TTY: "/dev/pts/0" } });
    const { session, endpoints } = await resolveProfile(deps, "dev");
    const ui = recordingUi(() => {
      idc.failNext({ path: "/token", status: 400, errorType: "SlowDownException", count: 1 });
    });
    const approve = idc.nextDeviceAuthorization().then(async (event) => {
      // Approve once the SlowDown has been served and the client polled again.
      while (idc.count("/token", { errorType: "SlowDownException" }) === 0)
        await new Promise((r) => setImmediate(r));
      idc.approveDevice(event.userCode);
    });
    await login(deps, session, { ui, oidcEndpoint: endpoints.oidc, openBrowser: false });
    await approve;
    const interval = idc.lifetimes.pollIntervalSeconds * 1000;
    expect(clock.sleeps[0]).toBe(interval);
    expect(clock.sleeps).toContain(interval + 5000);
  });

  it("fails with a clear message when the user denies the request", async () => {
    await using idc = await startFakeIdc();
    await using home = await makeTestHome({
      config: sampleConfig("https://x.awsapps.com/start"),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ env: { SSH_TTY: "/dev/pts/0" } });
    const { session, endpoints } = await resolveProfile(deps, "dev");
    const ui = recordingUi((code) => {
      idc.denyDevice(code);
    });
    const failure = login(deps, session, { ui, oidcEndpoint: endpoints.oidc, openBrowser: false });
    await expect(failure).rejects.toBeInstanceOf(LoginError);
    await expect(failure).rejects.toThrow(/profile dev was denied/);
    await expect(readFile(tokenCachePath(deps.paths.ssoCacheDir, session))).rejects.toThrow(/ENOENT/);
  });

  it("stops with the AWS CLI's message when the device code expires", async () => {
    const clock = new FakeClock(Date.now());
    await using idc = await startFakeIdc({ clock, lifetimes: { deviceCodeSeconds: 30 } });
    await using home = await makeTestHome({
      config: sampleConfig("https://x.awsapps.com/start"),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ clock, env: { SSH_TTY: "/dev/pts/0" } });
    const { session, endpoints } = await resolveProfile(deps, "dev");
    const failure = login(deps, session, {
      ui: recordingUi(),
      oidcEndpoint: endpoints.oidc,
      openBrowser: false,
    });
    await expect(failure).rejects.toThrow(
      "The pending authorization to retrieve an SSO token has expired. The login flow to retrieve an SSO token must be restarted.",
    );
  });

  it("uses the device flow for legacy profiles, which get no refresh token", async () => {
    await using idc = await startFakeIdc({ autoApprove: true });
    await using home = await makeTestHome({
      config: sampleConfig(idc.startUrl),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ env: { DISPLAY: ":0" } }); // a browser exists, but legacy means device code
    const { session, endpoints } = await resolveProfile(deps, "legacy");
    const result = await login(deps, session, {
      ui: recordingUi(),
      oidcEndpoint: endpoints.oidc,
      openBrowser: false,
    });
    expect(result.flow).toBe("device");
    const token = JSON.parse(
      await readFile(tokenCachePath(deps.paths.ssoCacheDir, session), "utf8"),
    ) as Record<string, unknown>;
    expect(token["refreshToken"]).toBeUndefined();
  });
});

describe("PKCE login", () => {
  it("runs the authorization-code flow through the loopback redirect", async () => {
    await using idc = await startFakeIdc();
    await using home = await makeTestHome({
      config: sampleConfig(idc.startUrl),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ env: { DISPLAY: ":0" } });
    const { session, endpoints } = await resolveProfile(deps, "dev");
    const ui = recordingUi();
    const result = await login(deps, session, {
      ui,
      oidcEndpoint: endpoints.oidc,
      browser: browserFollowingRedirect,
    });

    expect(result.flow).toBe("pkce");
    const url = new URL(ui.shown[0]!.replace(/^authorize /, ""));
    expect(url.pathname).toBe("/authorize");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth\/callback$/);
    expect(url.searchParams.get("scopes")).toBe("sso:account:access");
    expect(idc.count("/token", { operation: "authorization_code", status: 200 })).toBe(1);
    const token = JSON.parse(
      await readFile(tokenCachePath(deps.paths.ssoCacheDir, session), "utf8"),
    ) as Record<string, unknown>;
    expect(typeof token["refreshToken"]).toBe("string");
  });

  it("reports a denied authorization and writes no token", async () => {
    await using idc = await startFakeIdc({ authorizeOutcome: "deny" });
    await using home = await makeTestHome({
      config: sampleConfig(idc.startUrl),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ env: { DISPLAY: ":0" } });
    const { session, endpoints } = await resolveProfile(deps, "dev");
    const failure = login(deps, session, {
      ui: recordingUi(),
      oidcEndpoint: endpoints.oidc,
      browser: browserFollowingRedirect,
    });
    await expect(failure).rejects.toThrow(/profile dev was not approved \(access_denied/);
    await expect(readFile(tokenCachePath(deps.paths.ssoCacheDir, session))).rejects.toThrow(/ENOENT/);
  });
});

describe("one login at a time", () => {
  it("a second concurrent login waits and reuses the first one's token", async () => {
    await using idc = await startFakeIdc();
    await using home = await makeTestHome({
      config: sampleConfig(idc.startUrl),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ env: { SSH_TTY: "/dev/pts/0" } });
    const { session, endpoints } = await resolveProfile(deps, "dev");
    const prompts: string[] = [];
    const ui: LoginUi = {
      devicePrompt: (p) => {
        prompts.push(p.userCode);
        idc.approveDevice(p.userCode);
      },
      authorizePrompt: () => undefined,
    };
    const results = await Promise.all([
      login(deps, session, { ui, oidcEndpoint: endpoints.oidc, openBrowser: false }),
      login(deps, session, { ui, oidcEndpoint: endpoints.oidc, openBrowser: false }),
    ]);
    expect(prompts).toHaveLength(1);
    expect(idc.count("/device_authorization")).toBe(1);
    expect(results.map((r) => r.reused).sort()).toEqual([false, true]);
  });
});

describe("refresh", () => {
  it("refreshes a short-lived access token with the refresh token instead of asking to log in again", async () => {
    // Access tokens live 10 minutes: always inside the 15-minute refresh window.
    await using idc = await startFakeIdc({ autoApprove: true, lifetimes: { accessTokenSeconds: 600 } });
    // A second call within the minute reuses the refreshed token (the AWS CLI's rate limit).
    await using home = await makeTestHome({
      config: sampleConfig(idc.startUrl),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ env: { SSH_TTY: "/dev/pts/0" } });
    const resolved = await resolveProfile(deps, "dev");
    await login(deps, resolved.session, {
      ui: recordingUi(),
      oidcEndpoint: resolved.endpoints.oidc,
      openBrowser: false,
    });
    const path = tokenCachePath(deps.paths.ssoCacheDir, resolved.session);
    const before = JSON.parse(await readFile(path, "utf8")) as Record<string, string>;

    const first = await getAccessToken(deps, resolved.session, resolved.endpoints.oidc);
    const credentials = await new CredentialSource(deps, { useCliCache: false }).get(resolved);

    const after = JSON.parse(await readFile(path, "utf8")) as Record<string, string>;
    expect(idc.count("/token", { operation: "refresh_token", status: 200 })).toBe(1);
    expect(idc.count("/device_authorization")).toBe(1);
    expect(after["accessToken"]).not.toBe(before["accessToken"]);
    expect(after["refreshToken"]).not.toBe(before["refreshToken"]);
    expect(first.accessToken).toBe(after["accessToken"]);
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("keeps using a still-valid token when the refresh is refused, then asks for a login once it expires", async () => {
    const clock = new FakeClock(Date.now());
    await using idc = await startFakeIdc({
      clock,
      autoApprove: true,
      lifetimes: { accessTokenSeconds: 600 },
    });
    await using home = await makeTestHome({
      config: sampleConfig(idc.startUrl),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ clock, env: { SSH_TTY: "/dev/pts/0" } });
    const resolved = await resolveProfile(deps, "dev");
    await login(deps, resolved.session, {
      ui: recordingUi(),
      oidcEndpoint: resolved.endpoints.oidc,
      openBrowser: false,
    });
    const token = JSON.parse(
      await readFile(tokenCachePath(deps.paths.ssoCacheDir, resolved.session), "utf8"),
    ) as Record<string, string>;
    idc.revokeAllSessions();

    const stillValid = await getAccessToken(deps, resolved.session, resolved.endpoints.oidc);
    expect(stillValid.accessToken).toBe(token["accessToken"]);
    expect(stillValid.refreshable).toBe(false);

    clock.advance(601_000);
    const expired = getAccessToken(deps, resolved.session, resolved.endpoints.oidc);
    await expect(expired).rejects.toBeInstanceOf(SessionExpiredError);
    await expect(expired).rejects.toMatchObject({ hint: "sso-docker login --profile dev" });
  });
});
