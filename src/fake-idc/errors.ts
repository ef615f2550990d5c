import { jsonReply, requestId, type Reply } from "./http.js";

/**
 * Error replies in each service's own dialect. The SDKs take the error name from the
 * `x-amzn-ErrorType` header (JSON services) or `<Code>` (STS); without them the JS SDK says "Unknown".
 */

const OIDC_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.sso.oidc/";
const PORTAL_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/";

export type OidcErrorName =
  | "AccessDeniedException"
  | "AuthorizationPendingException"
  | "ExpiredTokenException"
  | "InvalidClientException"
  | "InvalidClientMetadataException"
  | "InvalidGrantException"
  | "InvalidRedirectUriException"
  | "InvalidRequestException"
  | "InvalidScopeException"
  | "SlowDownException"
  | "UnauthorizedClientException"
  | "UnsupportedGrantTypeException";

/** `AuthorizationPendingException` → `authorization_pending`, the OAuth code in the body. */
function oauthCode(errorType: string): string {
  return errorType
    .replace(/Exception$/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

export function oidcErrorReply(status: number, errorType: string, description: string): Reply {
  return {
    ...jsonReply(
      status,
      { error: oauthCode(errorType), error_description: description },
      { "x-amzn-ErrorType": `${errorType}:${OIDC_NAMESPACE}` },
    ),
    errorType,
  };
}

export function oidcError(name: OidcErrorName, description: string): Reply {
  return oidcErrorReply(name === "InvalidClientException" ? 401 : 400, name, description);
}

export type PortalErrorName =
  | "InvalidRequestException"
  | "UnauthorizedException"
  | "ForbiddenException"
  | "ResourceNotFoundException"
  | "TooManyRequestsException";

const PORTAL_ERRORS: Record<PortalErrorName, { status: number; message: string }> = {
  InvalidRequestException: { status: 400, message: "Invalid request" },
  UnauthorizedException: { status: 401, message: "Session token not found or invalid" },
  ForbiddenException: { status: 403, message: "No access" },
  ResourceNotFoundException: { status: 404, message: "Resource not found" },
  TooManyRequestsException: { status: 429, message: "Too many requests" },
};

export function portalErrorReply(status: number, errorType: string, message: string): Reply {
  return {
    ...jsonReply(status, { message }, { "x-amzn-ErrorType": `${errorType}:${PORTAL_NAMESPACE}` }),
    errorType,
  };
}

export function portalError(name: PortalErrorName, message?: string): Reply {
  const known = PORTAL_ERRORS[name];
  return portalErrorReply(known.status, name, message ?? known.message);
}

export type StsErrorCode =
  | "AccessDenied"
  | "ValidationError"
  | "MissingAuthenticationToken"
  | "IncompleteSignature"
  | "InvalidClientTokenId"
  | "SignatureDoesNotMatch"
  | "ExpiredToken"
  | "InvalidAction"
  | "MissingAction";

const STS_STATUS: Record<StsErrorCode, number> = {
  AccessDenied: 403,
  ValidationError: 400,
  MissingAuthenticationToken: 403,
  IncompleteSignature: 400,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  ExpiredToken: 400,
  InvalidAction: 400,
  MissingAction: 400,
};

const STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

export function xmlEscape(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** STS speaks awsQuery (XML errors) and, for newer SDKs, an awsJson 1.0 variant with query-compatible codes. */
export function stsErrorReply(status: number, code: string, message: string, asJson = false): Reply {
  const id = requestId();
  const type = status >= 500 ? "Receiver" : "Sender";
  if (asJson) {
    return {
      ...jsonReply(
        status,
        { __type: `com.amazonaws.sts#${code}`, message },
        { "content-type": "application/x-amz-json-1.0", "x-amzn-query-error": `${code};${type}` },
      ),
      errorType: code,
    };
  }
  const body =
    `<ErrorResponse xmlns="${STS_XMLNS}">\n  <Error>\n    <Type>${type}</Type>\n` +
    `    <Code>${xmlEscape(code)}</Code>\n    <Message>${xmlEscape(message)}</Message>\n  </Error>\n` +
    `  <RequestId>${id}</RequestId>\n</ErrorResponse>\n`;
  return { status, headers: { "content-type": "text/xml", "x-amzn-RequestId": id }, body, errorType: code };
}

export function stsError(code: StsErrorCode, message: string, asJson = false): Reply {
  return stsErrorReply(STS_STATUS[code], code, message, asJson);
}

export { STS_XMLNS };
