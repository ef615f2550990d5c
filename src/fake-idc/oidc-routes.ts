import type { Handler, RouteContext, RouteTable } from "./context.js";
import { oidcError } from "./errors.js";
import { jsonReply, parseJsonObject, stringField, stringListField, type Reply } from "./http.js";
import { pkceChallenge, safeEqual } from "./secrets.js";
import type { ClientRecord, TokenSet } from "./state.js";

/** SSO OIDC (rest-json, unsigned): RegisterClient, StartDeviceAuthorization, CreateToken. */

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const REFRESH_GRANT = "refresh_token";
const CODE_GRANT = "authorization_code";

const badJson = oidcError("InvalidRequestException", "The request body is not a JSON object.");

const registerClient: Handler = (req, ctx) => {
  const body = parseJsonObject(req.body);
  if (!body) return badJson;
  const clientName = stringField(body, "clientName");
  const clientType = stringField(body, "clientType");
  if (!clientName || !clientType)
    return oidcError("InvalidRequestException", "clientName and clientType are required.");
  if (clientType !== "public")
    return oidcError("InvalidClientMetadataException", "clientType must be public.");
  const grantTypes = stringListField(body, "grantTypes");
  const redirectUris = stringListField(body, "redirectUris");
  if (grantTypes.includes(CODE_GRANT) && redirectUris.length === 0) {
    return oidcError("InvalidRedirectUriException", "The authorization_code grant needs redirectUris.");
  }
  const scopes = stringListField(body, "scopes");
  const client = ctx.identity.registerClient({ clientName, scopes, grantTypes, redirectUris });
  return jsonReply(200, {
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    clientIdIssuedAt: Math.floor(client.issuedAt / 1000),
    clientSecretExpiresAt: Math.floor(client.expiresAt / 1000),
  });
};

const invalidClient = () =>
  oidcError("InvalidClientException", "Invalid client id or secret, or the registration expired.");

const startDeviceAuthorization: Handler = (req, ctx) => {
  const body = parseJsonObject(req.body);
  if (!body) return badJson;
  const client = ctx.identity.authenticateClient(
    stringField(body, "clientId"),
    stringField(body, "clientSecret"),
  );
  if (!client) return invalidClient();
  const startUrl = stringField(body, "startUrl");
  if (!startUrl) return oidcError("InvalidRequestException", "startUrl is required.");
  if (!ctx.identity.allowsGrant(client, DEVICE_GRANT)) {
    return oidcError(
      "UnauthorizedClientException",
      "The client is not registered for the device code grant.",
    );
  }
  const verificationUri = `${ctx.url}/device`;
  const device = ctx.identity.startDeviceAuthorization(client, startUrl, verificationUri);
  return jsonReply(200, {
    deviceCode: device.deviceCode,
    userCode: device.userCode,
    verificationUri,
    verificationUriComplete: `${verificationUri}?user_code=${encodeURIComponent(device.userCode)}`,
    expiresIn: ctx.identity.lifetimes.deviceCodeSeconds,
    interval: ctx.identity.lifetimes.pollIntervalSeconds,
  });
};

function tokenReply(tokens: TokenSet, operation: string): Reply {
  return { ...jsonReply(200, { tokenType: "Bearer", ...tokens }), operation };
}

function deviceCodeGrant(client: ClientRecord, body: Record<string, unknown>, ctx: RouteContext): Reply {
  const deviceCode = stringField(body, "deviceCode");
  if (!deviceCode) return oidcError("InvalidRequestException", "deviceCode is required.");
  const device = ctx.identity.deviceByCode(deviceCode);
  if (!device || device.clientId !== client.clientId || device.status === "used") {
    return oidcError("InvalidGrantException", "Invalid device code provided.");
  }
  if (ctx.identity.isExpired(device))
    return oidcError("ExpiredTokenException", "The device code has expired.");
  if (device.status === "denied")
    return oidcError("AccessDeniedException", "The user denied the authorization.");
  if (device.status === "pending" && ctx.settings.autoApprove) device.status = "approved";
  if (device.status === "pending") {
    return ctx.identity.pollTooSoon(device)
      ? oidcError("SlowDownException", "Client is polling too fast; add 5 seconds to the interval.")
      : oidcError("AuthorizationPendingException", "Authorization is still pending.");
  }
  device.status = "used";
  return tokenReply(ctx.identity.issueSession(client, client.scopes), "device_code");
}

function authorizationCodeGrant(
  client: ClientRecord,
  body: Record<string, unknown>,
  ctx: RouteContext,
): Reply {
  const code = stringField(body, "code");
  const redirectUri = stringField(body, "redirectUri");
  const codeVerifier = stringField(body, "codeVerifier");
  if (!code || !redirectUri || !codeVerifier) {
    return oidcError("InvalidRequestException", "code, redirectUri and codeVerifier are required.");
  }
  const request = ctx.identity.takeAuthCode(code);
  if (!request || request.clientId !== client.clientId) {
    return oidcError("InvalidGrantException", "Invalid authorization code provided.");
  }
  if (request.redirectUri !== redirectUri) {
    return oidcError("InvalidGrantException", "redirectUri does not match the authorization request.");
  }
  if (!safeEqual(pkceChallenge(codeVerifier), request.codeChallenge)) {
    return oidcError("InvalidGrantException", "The code verifier does not match the code challenge.");
  }
  const scopes = request.scopes.length > 0 ? request.scopes : client.scopes;
  return tokenReply(ctx.identity.issueSession(client, scopes), "authorization_code");
}

function refreshTokenGrant(client: ClientRecord, body: Record<string, unknown>, ctx: RouteContext): Reply {
  const refreshToken = stringField(body, "refreshToken");
  if (!refreshToken) return oidcError("InvalidRequestException", "refreshToken is required.");
  const tokens = ctx.identity.refresh(client, refreshToken);
  if (!tokens) return oidcError("InvalidGrantException", "Invalid refresh token provided.");
  return tokenReply(tokens, "refresh_token");
}

const GRANTS: Record<string, typeof deviceCodeGrant> = {
  [DEVICE_GRANT]: deviceCodeGrant,
  [CODE_GRANT]: authorizationCodeGrant,
  [REFRESH_GRANT]: refreshTokenGrant,
};

const createToken: Handler = (req, ctx) => {
  if (req.query.has("aws_iam"))
    return oidcError("InvalidRequestException", "CreateTokenWithIAM is not faked.");
  const body = parseJsonObject(req.body);
  if (!body) return badJson;
  const client = ctx.identity.authenticateClient(
    stringField(body, "clientId"),
    stringField(body, "clientSecret"),
  );
  if (!client) return invalidClient();
  const grantType = stringField(body, "grantType");
  if (!grantType) return oidcError("InvalidRequestException", "grantType is required.");
  const grant = GRANTS[grantType];
  if (!grant) return oidcError("UnsupportedGrantTypeException", `Unsupported grant type: ${grantType}.`);
  const operation = grantType.replace("urn:ietf:params:oauth:grant-type:", "");
  if (!ctx.identity.allowsGrant(client, grantType)) {
    return {
      ...oidcError("UnauthorizedClientException", `The client is not registered for ${operation}.`),
      operation,
    };
  }
  return { operation, ...grant(client, body, ctx) };
};

export const oidcRoutes: RouteTable = {
  "POST /client/register": registerClient,
  "POST /device_authorization": startDeviceAuthorization,
  "POST /token": createToken,
};
