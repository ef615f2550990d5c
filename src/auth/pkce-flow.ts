import { setTimeout as delay } from "node:timers/promises";
import type { AddressInfo } from "node:net";
import type { SSOOIDCClient } from "@aws-sdk/client-sso-oidc";
import type { Clock } from "../runtime/clock.js";
import { CancelledError, LoginError } from "../runtime/errors.js";
import { nodeHttp } from "../runtime/node-http.js";
import { buildAuthorizeUrl, codeChallengeFor, createCodeVerifier, newState } from "./pkce.js";
import type { ClientRegistration, TokenGrant } from "./token-grant.js";
import { EXPIRED_AUTHORIZATION_MESSAGE, toTokenGrant } from "./token-grant.js";

export interface PkceFlowInput {
  client: SSOOIDCClient;
  registration: ClientRegistration;
  oidcOrigin: string;
  scopes: readonly string[];
  clock: Clock;
  /** Called with the authorize URL: open a browser and/or print it. */
  onPrompt: (prompt: { authorizeUrl: string }) => void | Promise<void>;
  signal?: AbortSignal | undefined;
  profileName: string;
  /** How long to wait for the browser to come back (the AWS CLI waits 10 minutes). */
  timeoutMs?: number;
}

const CALLBACK_PATH = "/oauth/callback";

const PAGE = (text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>sso-docker</title></head>` +
  `<body style="font-family:sans-serif;margin:3em"><h1>sso-docker</h1><p>${text}</p></body></html>`;

interface Callback {
  code?: string;
  error?: string;
  errorDescription?: string;
}

/**
 * Authorization code with PKCE and a loopback redirect (AWS CLI ≥ 2.22): a one-shot HTTP
 * server on 127.0.0.1:<random port> takes `/oauth/callback?code&state`, then CreateToken.
 */
export async function runPkceFlow(input: PkceFlowInput): Promise<TokenGrant> {
  const { client, registration, clock, signal, profileName } = input;
  const hint = `sso-docker login --profile ${profileName}`;
  const verifier = createCodeVerifier();
  const state = newState();

  let settle: (result: Callback) => void = () => undefined;
  const callback = new Promise<Callback>((resolve) => (settle = resolve));
  const server = nodeHttp.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== CALLBACK_PATH || url.searchParams.get("state") !== state) {
      // Wrong path or a stale/forged state: ignore, keep waiting for the real one.
      res
        .writeHead(400, { "content-type": "text/html" })
        .end(PAGE("This request does not match a login in progress."));
      return;
    }
    const error = url.searchParams.get("error");
    const code = url.searchParams.get("code");
    if (error) {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(PAGE("Login was not approved. You can close this window."));
      settle({ error, errorDescription: url.searchParams.get("error_description") ?? "" });
    } else if (code) {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(PAGE("Request approved. You can close this window and return to the terminal."));
      settle({ code });
    } else {
      res.writeHead(400, { "content-type": "text/html" }).end(PAGE("The callback carried no code."));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const redirectUri = `http://127.0.0.1:${port}${CALLBACK_PATH}`;

  const timeout = new AbortController();
  const onAbort = () => {
    timeout.abort();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await input.onPrompt({
      authorizeUrl: buildAuthorizeUrl({
        oidcOrigin: input.oidcOrigin,
        clientId: registration.clientId,
        redirectUri,
        state,
        codeChallenge: codeChallengeFor(verifier),
        scopes: input.scopes,
      }),
    });
    // A real timer even under a fake clock: this waits on a person, not on a poll loop.
    const waited = delay(input.timeoutMs ?? 600_000, undefined, { signal: timeout.signal }).then(
      () => "timeout" as const,
      () => "aborted" as const,
    );
    const outcome = await Promise.race([callback, waited]);
    if (outcome === "aborted") throw new CancelledError("Login cancelled.");
    if (outcome === "timeout") throw new LoginError(EXPIRED_AUTHORIZATION_MESSAGE, { hint });
    if (outcome.error !== undefined || outcome.code === undefined) {
      throw new LoginError(
        `The login for profile ${profileName} was not approved (${outcome.error ?? "no code"}${outcome.errorDescription ? `: ${outcome.errorDescription}` : ""}).`,
        { hint },
      );
    }
    const { CreateTokenCommand } = await import("@aws-sdk/client-sso-oidc");
    const issuedAt = clock.now();
    const token = await client.send(
      new CreateTokenCommand({
        grantType: "authorization_code",
        clientId: registration.clientId,
        clientSecret: registration.clientSecret,
        redirectUri,
        codeVerifier: verifier,
        code: outcome.code,
      }),
      signal ? { abortSignal: signal } : {},
    );
    return toTokenGrant(token, issuedAt);
  } finally {
    timeout.abort();
    signal?.removeEventListener("abort", onAbort);
    server.closeAllConnections();
    server.close();
  }
}
