import { createHash, randomBytes } from "node:crypto";
import { CreateTokenCommand, RegisterClientCommand, SSOOIDCClient } from "@aws-sdk/client-sso-oidc";
import { describe, expect, it } from "vitest";
import { startFakeIdc, type FakeIdc } from "./server.js";

const SCOPES = ["sso:account:access"];

function oidcClient(idc: FakeIdc): SSOOIDCClient {
  return new SSOOIDCClient({ endpoint: idc.url, region: "us-east-1", maxAttempts: 1 });
}

async function register(client: SSOOIDCClient, idc: FakeIdc) {
  // As the AWS CLI >= 2.22 registers for PKCE: loopback redirect without a port.
  const reg = await client.send(
    new RegisterClientCommand({
      clientName: "sso-docker-test",
      clientType: "public",
      scopes: SCOPES,
      grantTypes: ["authorization_code", "refresh_token"],
      redirectUris: ["http://127.0.0.1/oauth/callback"],
      issuerUrl: idc.startUrl,
    }),
  );
  return { clientId: reg.clientId!, clientSecret: reg.clientSecret! };
}

describe("SSO OIDC authorization code with PKCE", () => {
  const callback = "http://127.0.0.1:54321/oauth/callback";

  async function setup(idc: FakeIdc) {
    const client = oidcClient(idc);
    const { clientId, clientSecret } = await register(client, idc);
    const verifier = randomBytes(48).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const authorize = async (redirectUri = callback) => {
      const url = new URL("/authorize", idc.url);
      const params = {
        response_type: "code",
        client_id: clientId,
        redirect_uri: redirectUri,
        state: "state-123",
        code_challenge_method: "S256",
        scopes: SCOPES.join(" "),
        code_challenge: challenge,
      };
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      return fetch(url, { redirect: "manual" });
    };
    const exchange = (code: string, codeVerifier = verifier, redirectUri = callback) =>
      client.send(
        new CreateTokenCommand({
          clientId,
          clientSecret,
          grantType: "authorization_code",
          code,
          codeVerifier,
          redirectUri,
        }),
      );
    return { client, clientId, clientSecret, authorize, exchange };
  }

  function location(res: Response): URL {
    expect(res.status).toBe(302);
    return new URL(res.headers.get("location")!);
  }

  it("redirects to the loopback port with code and state, and checks the verifier", async () => {
    await using idc = await startFakeIdc();
    const { authorize, exchange } = await setup(idc);
    const first = location(await authorize());
    expect(`${first.origin}${first.pathname}`).toBe(callback);
    expect(first.searchParams.get("state")).toBe("state-123");
    await expect(exchange(first.searchParams.get("code")!, "x".repeat(64))).rejects.toMatchObject({
      name: "InvalidGrantException",
    });
    // A code is single use, even after a failed exchange.
    await expect(exchange(first.searchParams.get("code")!)).rejects.toMatchObject({
      name: "InvalidGrantException",
    });

    const second = location(await authorize());
    await expect(
      exchange(second.searchParams.get("code")!, undefined, "http://127.0.0.1:1/oauth/callback"),
    ).rejects.toMatchObject({ name: "InvalidGrantException" });

    const third = location(await authorize());
    const token = await exchange(third.searchParams.get("code")!);
    expect(token).toMatchObject({ tokenType: "Bearer", expiresIn: 8 * 3600 });
    expect(token.refreshToken).toBeTruthy();
    expect(idc.count("/token", { operation: "authorization_code", status: 200 })).toBe(1);
  });

  it("redirects a denial with error=access_denied and the state", async () => {
    await using idc = await startFakeIdc({ authorizeOutcome: "deny" });
    const { authorize } = await setup(idc);
    const denied = location(await authorize());
    expect(denied.searchParams.get("error")).toBe("access_denied");
    expect(denied.searchParams.get("error_description")).toBeTruthy();
    expect(denied.searchParams.get("state")).toBe("state-123");
    expect(denied.searchParams.has("code")).toBe(false);
  });

  it("shows a consent page when asked to, and never redirects to an unregistered URI", async () => {
    await using idc = await startFakeIdc();
    const { authorize, exchange } = await setup(idc);
    expect((await authorize("http://evil.example/oauth/callback")).status).toBe(400);

    idc.setAuthorizeOutcome("prompt");
    const page = await authorize();
    expect(page.status).toBe(200);
    const requestId = /name="request" value="([^"]+)"/.exec(await page.text())?.[1];
    const answer = await fetch(`${idc.url}/authorize`, {
      method: "POST",
      body: new URLSearchParams({ request: requestId!, decision: "approve" }),
      redirect: "manual",
    });
    const approved = location(answer);
    expect((await exchange(approved.searchParams.get("code")!)).accessToken).toBeTruthy();
  });
});
