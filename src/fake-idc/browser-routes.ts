import type { Handler, RouteContext, RouteTable } from "./context.js";
import { renderAuthorizePage, renderDevicePage, renderErrorPage, renderStartPage } from "./device-page.js";
import { htmlReply, redirectReply, type Reply } from "./http.js";
import type { AuthRequest, ClientRecord } from "./state.js";

/** The pages a browser visits: the PKCE authorize step, the device verification page, the start URL. */

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** RFC 8252 §7.3: for loopback redirect URIs the port is chosen at run time, so it is not compared. */
function redirectAllowed(client: ClientRecord, redirectUri: string): boolean {
  let wanted: URL;
  try {
    wanted = new URL(redirectUri);
  } catch {
    return false;
  }
  return client.redirectUris.some((registered) => {
    if (registered === redirectUri) return true;
    const url = URL.canParse(registered) ? new URL(registered) : undefined;
    return (
      url !== undefined &&
      LOOPBACK.has(url.hostname) &&
      url.protocol === wanted.protocol &&
      url.hostname === wanted.hostname &&
      url.pathname === wanted.pathname
    );
  });
}

function redirectWith(redirectUri: string, params: Record<string, string | undefined>): Reply {
  const location = new URL(redirectUri);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) location.searchParams.set(key, value);
  }
  return redirectReply(location.href);
}

function decide(request: AuthRequest, approve: boolean, ctx: RouteContext): Reply {
  if (!approve) {
    return {
      ...redirectWith(request.redirectUri, {
        error: "access_denied",
        error_description: "The user denied the authorization request.",
        state: request.state,
      }),
      errorType: "access_denied",
    };
  }
  const code = ctx.identity.createAuthCode(request);
  return redirectWith(request.redirectUri, { code, state: request.state });
}

const authorize: Handler = (req, ctx) => {
  const q = req.query;
  const clientId = q.get("client_id") ?? "";
  const redirectUri = q.get("redirect_uri") ?? "";
  const client = ctx.identity.clients.get(clientId);
  // Without a trustworthy client and redirect URI there is nowhere safe to send an error.
  if (!client || ctx.identity.isExpired(client)) {
    return { ...htmlReply(400, renderErrorPage("Unknown or expired client.")), errorType: "invalid_client" };
  }
  if (!redirectAllowed(client, redirectUri)) {
    return { ...htmlReply(400, renderErrorPage("Invalid redirect_uri.")), errorType: "invalid_redirect_uri" };
  }
  const state = q.get("state") ?? undefined;
  const fail = (error: string, description: string): Reply => ({
    ...redirectWith(redirectUri, { error, error_description: description, state }),
    errorType: error,
  });
  if (q.get("response_type") !== "code")
    return fail("unsupported_response_type", "response_type must be code.");
  const codeChallenge = q.get("code_challenge");
  if (!codeChallenge || q.get("code_challenge_method") !== "S256") {
    return fail("invalid_request", "code_challenge with code_challenge_method S256 is required.");
  }
  if (client.grantTypes.length > 0 && !client.grantTypes.includes("authorization_code")) {
    return fail("unauthorized_client", "The client is not registered for the authorization_code grant.");
  }
  const scopes = (q.get("scopes") ?? q.get("scope") ?? "").split(" ").filter((s) => s !== "");
  if (client.scopes.length > 0 && scopes.some((s) => !client.scopes.includes(s))) {
    return fail("invalid_scope", "A requested scope was not registered.");
  }
  const request: AuthRequest = { clientId, redirectUri, codeChallenge, scopes, state };
  switch (ctx.settings.authorizeOutcome) {
    case "approve":
      return decide(request, true, ctx);
    case "deny":
      return decide(request, false, ctx);
    case "prompt": {
      const id = ctx.identity.parkAuthorizeRequest(request);
      return htmlReply(200, renderAuthorizePage(id, client.clientName, scopes));
    }
  }
};

function formBody(body: Buffer): URLSearchParams {
  return new URLSearchParams(body.toString("utf8"));
}

const authorizeDecision: Handler = (req, ctx) => {
  const form = formBody(req.body);
  const request = ctx.identity.takeAuthorizeRequest(form.get("request") ?? "");
  if (!request)
    return htmlReply(400, renderErrorPage("This authorization request is unknown or already answered."));
  return decide(request, form.get("decision") === "approve", ctx);
};

const devicePage: Handler = (req, ctx) => {
  const userCode = req.query.get("user_code") ?? undefined;
  if (userCode === undefined) return htmlReply(200, renderDevicePage(undefined, "unknown"));
  const device = ctx.identity.deviceByUserCode(userCode);
  if (!device) return htmlReply(404, renderDevicePage(userCode, "unknown"));
  const state = ctx.identity.isExpired(device) && device.status === "pending" ? "expired" : device.status;
  return htmlReply(200, renderDevicePage(device.userCode, state));
};

const deviceDecision: Handler = (req, ctx) => {
  const form = formBody(req.body);
  const userCode = form.get("user_code") ?? "";
  const result = ctx.identity.decideDevice(userCode, form.get("decision") === "approve");
  return htmlReply(result === "unknown" ? 404 : 200, renderDevicePage(userCode, result));
};

const startPage: Handler = (_req, ctx) => htmlReply(200, renderStartPage(ctx.url));

export const browserRoutes: RouteTable = {
  "GET /authorize": authorize,
  "POST /authorize": authorizeDecision,
  "GET /device": devicePage,
  "POST /device": deviceDecision,
  "GET /start": startPage,
};
