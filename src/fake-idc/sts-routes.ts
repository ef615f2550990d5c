import { assumeRole } from "./assume-role.js";
import type { Handler, RouteContext, RouteTable } from "./context.js";
import { stsError } from "./errors.js";
import { header, type FakeRequest, type Reply } from "./http.js";
import type { RoleCredentialRecord } from "./role-credentials.js";
import { safeEqual } from "./secrets.js";
import { parseAuthorization, verifySigV4 } from "./sigv4-verify.js";
import {
  assumedRoleArn,
  assumedRoleId,
  isJsonProtocol,
  STS_JSON_TARGET_PREFIX,
  stsParams,
  stsResult,
} from "./sts-reply.js";

/**
 * STS GetCallerIdentity and AssumeRole, signed with role credentials this fake issued (from
 * GetRoleCredentials or an earlier AssumeRole, so chains work). The JS SDK v3 and botocore send
 * awsQuery (form POST to "/"); the awsJson 1.0 variant (X-Amz-Target) is answered as well.
 */

const VERSION = "2011-06-15";

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

const getCallerIdentity = (creds: RoleCredentialRecord, asJson: boolean): Reply => {
  const identity = { Arn: assumedRoleArn(creds), UserId: assumedRoleId(creds), Account: creds.accountId };
  return stsResult("GetCallerIdentity", identity, identity, asJson);
};

type Action = (
  creds: RoleCredentialRecord,
  params: Map<string, string>,
  ctx: RouteContext,
  asJson: boolean,
) => Reply;

const ACTIONS: Readonly<Record<string, Action>> = {
  GetCallerIdentity: (creds, _params, _ctx, asJson) => getCallerIdentity(creds, asJson),
  AssumeRole: assumeRole,
};

const sts: Handler = (req, ctx) => {
  const asJson = isJsonProtocol(req);
  const params = stsParams(req, asJson);
  const action = asJson
    ? header(req, "x-amz-target")?.slice(STS_JSON_TARGET_PREFIX.length)
    : params.get("Action");
  if (!action) return stsError("MissingAction", "Missing Action", asJson);
  const reply = ((): Reply => {
    const run = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
    if (!run) {
      return stsError("InvalidAction", `Could not find operation ${action} for version ${VERSION}`, asJson);
    }
    const creds = authenticate(req, (id) => ctx.credentials.find(id), asJson);
    if ("status" in creds) return creds;
    if (ctx.credentials.isExpired(creds)) {
      return stsError("ExpiredToken", "The security token included in the request is expired", asJson);
    }
    return run(creds, params, ctx, asJson);
  })();
  const roleArn = action === "AssumeRole" ? params.get("RoleArn") : undefined;
  const signingRegion = parseAuthorization(header(req, "authorization") ?? "")?.region;
  return {
    operation: action,
    ...(roleArn === undefined ? {} : { roleArn }),
    ...(signingRegion === undefined ? {} : { signingRegion }),
    ...reply,
  };
};

export const stsRoutes: RouteTable = {
  "POST /": sts,
  "GET /": sts,
};
