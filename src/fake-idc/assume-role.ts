import type { RouteContext } from "./context.js";
import { stsError } from "./errors.js";
import type { Reply } from "./http.js";
import { isoSeconds } from "../runtime/time-format.js";
import type { RoleCredentialRecord } from "./role-credentials.js";
import { assumedRoleArn, assumedRoleId, stsResult } from "./sts-reply.js";
import { iamRoleArn, type FakeIamRole } from "./types.js";

/**
 * STS AssumeRole as the real service answers it (docs.aws.amazon.com/STS/latest/APIReference/
 * API_AssumeRole.html, and botocore's sts model for the shapes): parameters checked against the
 * model's constraints (ValidationError), the role found by ARN and its trust policy and
 * ExternalId checked (AccessDenied for all three, as STS does not say which), DurationSeconds
 * within the role's MaxSessionDuration and, since every caller here is itself a role session,
 * within the 1-hour limit of role chaining.
 */

const DEFAULT_DURATION_SECONDS = 3600;
const CHAINED_MAX_SECONDS = 3600;
const DEFAULT_MAX_SESSION_SECONDS = 3600;

const SESSION_NAME_PATTERN = "[\\w+=,.@-]*";
const EXTERNAL_ID_PATTERN = "[\\w+=,.@:\\/-]*";

/** Problems in the coral shape STS uses: "Value 'x' at 'roleSessionName' failed to satisfy constraint: …". */
function validate(params: Map<string, string>): string[] {
  const problems: string[] = [];
  const fail = (value: string | undefined, field: string, constraint: string) => {
    const shown = value === undefined ? "null" : `'${value}'`;
    problems.push(`Value ${shown} at '${field}' failed to satisfy constraint: Member must ${constraint}`);
  };
  const text = (
    name: string,
    field: string,
    rule: { min: number; max: number; pattern?: string; required?: boolean },
  ) => {
    const value = params.get(name);
    if (value === undefined) {
      if (rule.required === true) fail(value, field, "not be null");
      return;
    }
    if (value.length < rule.min) fail(value, field, `have length greater than or equal to ${rule.min}`);
    else if (value.length > rule.max) fail(value, field, `have length less than or equal to ${rule.max}`);
    else if (rule.pattern !== undefined && !new RegExp(`^${rule.pattern}$`).test(value)) {
      fail(value, field, `satisfy regular expression pattern: ${rule.pattern}`);
    }
  };
  text("RoleArn", "roleArn", { min: 20, max: 2048, required: true });
  text("RoleSessionName", "roleSessionName", {
    min: 2,
    max: 64,
    pattern: SESSION_NAME_PATTERN,
    required: true,
  });
  text("ExternalId", "externalId", { min: 2, max: 1224, pattern: EXTERNAL_ID_PATTERN });
  const duration = params.get("DurationSeconds");
  if (duration !== undefined) {
    const seconds = /^-?\d+$/.test(duration) ? Number(duration) : NaN;
    if (Number.isNaN(seconds)) fail(duration, "durationSeconds", "be an integer");
    else if (seconds < 900) fail(duration, "durationSeconds", "have value greater than or equal to 900");
    else if (seconds > 43200) fail(duration, "durationSeconds", "have value less than or equal to 43200");
  }
  return problems;
}

/** Whether the role's trust policy names the caller: its role, or its whole account. */
function trusts(role: FakeIamRole, caller: RoleCredentialRecord): boolean {
  if (role.trustedPrincipals === undefined) return true;
  return role.trustedPrincipals.some((principal) => {
    if (principal === `arn:aws:iam::${caller.accountId}:root`) return true;
    const match = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(principal);
    return match?.[1] === caller.accountId && match[2] === caller.roleName;
  });
}

export function assumeRole(
  caller: RoleCredentialRecord,
  params: Map<string, string>,
  ctx: RouteContext,
  asJson: boolean,
): Reply {
  const problems = validate(params);
  if (problems.length > 0) {
    const count = `${problems.length} validation error${problems.length > 1 ? "s" : ""} detected`;
    return stsError("ValidationError", `${count}: ${problems.join("; ")}`, asJson);
  }
  const roleArn = params.get("RoleArn") ?? "";
  const sessionName = params.get("RoleSessionName") ?? "";
  if (!/^arn:[^:]*:[^:]*:[^:]*:[^:]*:.+$/.test(roleArn)) {
    return stsError("ValidationError", "Request ARN is invalid", asJson);
  }
  const role = ctx.iamRoles.find((r) => iamRoleArn(r) === roleArn);
  const externalId = params.get("ExternalId");
  if (!role || !trusts(role, caller) || (role.externalId !== undefined && externalId !== role.externalId)) {
    return stsError(
      "AccessDenied",
      `User: ${assumedRoleArn(caller)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      asJson,
    );
  }
  const seconds = Number(params.get("DurationSeconds") ?? DEFAULT_DURATION_SECONDS);
  if (seconds > (role.maxSessionSeconds ?? DEFAULT_MAX_SESSION_SECONDS)) {
    return stsError(
      "ValidationError",
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
      asJson,
    );
  }
  if (seconds > CHAINED_MAX_SECONDS) {
    return stsError(
      "ValidationError",
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
      asJson,
    );
  }

  const issued = ctx.credentials.issueAssumed(role.accountId, role.roleName, sessionName, seconds);
  const user = { AssumedRoleId: assumedRoleId(issued), Arn: assumedRoleArn(issued) };
  const credentials = {
    AccessKeyId: issued.accessKeyId,
    SecretAccessKey: issued.secretAccessKey,
    SessionToken: issued.sessionToken,
  };
  return stsResult(
    "AssumeRole",
    {
      AssumedRoleUser: user,
      Credentials: {
        ...credentials,
        Expiration: isoSeconds(issued.expiration),
      },
    },
    // awsJson timestamps are epoch seconds.
    { AssumedRoleUser: user, Credentials: { ...credentials, Expiration: issued.expiration / 1000 } },
    asJson,
  );
}
