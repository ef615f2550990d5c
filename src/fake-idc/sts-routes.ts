import type { Handler, RouteTable } from "./context.js";
import { STS_XMLNS, stsError, xmlEscape } from "./errors.js";
import { header, jsonReply, requestId, type FakeRequest, type Reply } from "./http.js";
import type { RoleCredentialRecord } from "./role-credentials.js";
import { safeEqual, sha256 } from "./secrets.js";
import { parseAuthorization, verifySigV4 } from "./sigv4-verify.js";

/**
 * STS GetCallerIdentity, signed with role credentials this fake issued. The JS SDK v3 and botocore
 * send awsQuery (form POST to "/"); the awsJson 1.0 variant (X-Amz-Target) is answered as well.
 */

const JSON_TARGET_PREFIX = "AWSSecurityTokenServiceV20110615.";
const VERSION = "2011-06-15";

function actionOf(req: FakeRequest, asJson: boolean): string | undefined {
  if (asJson) return header(req, "x-amz-target")?.slice(JSON_TARGET_PREFIX.length);
  const params = new URLSearchParams(req.rawQuery);
  if (header(req, "content-type")?.startsWith("application/x-www-form-urlencoded")) {
    for (const [key, value] of new URLSearchParams(req.body.toString("utf8"))) params.set(key, value);
  }
  return params.get("Action") ?? undefined;
}

/** The credentials the request was signed with, or the STS error a real endpoint would give. */
function authenticate(
  req: FakeRequest,
  find: (id: string) => RoleCredentialRecord | undefined,
  asJson: boolean,
) {
  const authorization = header(req, "authorization");
  if (!authorization)
    return stsError("MissingAuthenticationToken", "Request is missing Authentication Token", asJson);
  const auth = parseAuthorization(authorization);
  if (!auth)
    return stsError("IncompleteSignature", "Authorization header is not a valid SigV4 header.", asJson);
  if (auth.service !== "sts") {
    return stsError(
      "SignatureDoesNotMatch",
      "Credential should be scoped to correct service: 'sts'.",
      asJson,
    );
  }
  const creds = find(auth.accessKeyId);
  const token = header(req, "x-amz-security-token");
  if (!creds || token === undefined || !safeEqual(token, creds.sessionToken)) {
    return stsError("InvalidClientTokenId", "The security token included in the request is invalid.", asJson);
  }
  if (!verifySigV4(req, auth, creds.secretAccessKey).ok) {
    return stsError(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. " +
        "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
      asJson,
    );
  }
  return creds;
}

function callerIdentity(creds: RoleCredentialRecord): { Account: string; Arn: string; UserId: string } {
  const roleId = sha256(`${creds.accountId}/${creds.roleName}`).toString("hex").toUpperCase().slice(0, 17);
  return {
    Account: creds.accountId,
    Arn: `arn:aws:sts::${creds.accountId}:assumed-role/${creds.roleName}/${creds.userName}`,
    UserId: `AROA${roleId}:${creds.userName}`,
  };
}

function identityReply(creds: RoleCredentialRecord, asJson: boolean): Reply {
  const identity = callerIdentity(creds);
  if (asJson) {
    return {
      ...jsonReply(200, identity, { "content-type": "application/x-amz-json-1.0" }),
      operation: "GetCallerIdentity",
    };
  }
  const id = requestId();
  const body =
    `<GetCallerIdentityResponse xmlns="${STS_XMLNS}">\n  <GetCallerIdentityResult>\n` +
    `    <Arn>${xmlEscape(identity.Arn)}</Arn>\n    <UserId>${xmlEscape(identity.UserId)}</UserId>\n` +
    `    <Account>${identity.Account}</Account>\n  </GetCallerIdentityResult>\n` +
    `  <ResponseMetadata>\n    <RequestId>${id}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n`;
  return {
    status: 200,
    headers: { "content-type": "text/xml", "x-amzn-RequestId": id },
    body,
    operation: "GetCallerIdentity",
  };
}

const sts: Handler = (req, ctx) => {
  const asJson = header(req, "x-amz-target")?.startsWith(JSON_TARGET_PREFIX) ?? false;
  const action = actionOf(req, asJson);
  if (!action) return stsError("MissingAction", "Missing Action", asJson);
  const reply = ((): Reply => {
    if (action !== "GetCallerIdentity") {
      return stsError("InvalidAction", `Could not find operation ${action} for version ${VERSION}`, asJson);
    }
    const creds = authenticate(req, (id) => ctx.credentials.find(id), asJson);
    if ("status" in creds) return creds;
    if (ctx.credentials.isExpired(creds)) {
      return stsError("ExpiredToken", "The security token included in the request is expired", asJson);
    }
    return identityReply(creds, asJson);
  })();
  return { operation: action, ...reply };
};

export const stsRoutes: RouteTable = {
  "POST /": sts,
  "GET /": sts,
};
