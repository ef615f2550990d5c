import type { AssumeRoleStep } from "../aws-files/role-chain.js";
import { httpStatusOf, isNetworkError, isTransientServiceError } from "../auth/service-errors.js";
import { AwsServiceError, ConfigError, ProfileError, SessionExpiredError } from "../runtime/errors.js";
import type { SsoDockerError } from "../runtime/errors.js";

/** STS's answers to AssumeRole as our errors: what failed for which profile, and what to do. */

export interface AssumeRoleErrorContext {
  /** The profile the user named. */
  profileName: string;
  step: AssumeRoleStep;
  /** Where the request went, for "cannot reach" messages. */
  endpoint: string;
  configFile: string;
}

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
}

/** The source credentials were refused as credentials: expired, or unknown to STS. */
export function isRefusedCredentials(err: unknown): boolean {
  const name = (err as SdkErrorShape | null)?.name;
  return name === "ExpiredToken" || name === "InvalidClientTokenId";
}

/** A service message on one line (they carry ARNs, never secrets). */
function detailOf(err: unknown): string {
  const message = (err as SdkErrorShape | null)?.message;
  return typeof message === "string" ? message.replace(/\s+/g, " ").trim() : "";
}

export function toAssumeRoleError(err: unknown, context: AssumeRoleErrorContext): SsoDockerError {
  const { profileName, step, endpoint, configFile } = context;
  const name =
    typeof (err as SdkErrorShape | null)?.name === "string" ? String((err as SdkErrorShape).name) : "Error";
  const via = step.profileName === profileName ? "" : ` (role_arn of profile "${step.profileName}")`;
  const section = `[profile ${step.profileName}] of ${configFile}`;
  const detail = detailOf(err);
  if (isNetworkError(err)) {
    return new AwsServiceError(
      `Cannot reach STS at ${endpoint} (${String((err as SdkErrorShape).code)}) for profile ${profileName}.`,
      { hint: "check the network, or the AWS_ENDPOINT_URL_STS setting", cause: err },
    );
  }
  if (name === "AccessDenied") {
    const externalId = step.externalId === undefined ? "" : " and external_id";
    return new ProfileError(
      `STS denied AssumeRole of ${step.roleArn} for profile ${profileName}${via}: ${detail}`,
      {
        hint: `Check role_arn${externalId} in ${section}; the role's trust policy must allow the role it is assumed from`,
        cause: err,
      },
    );
  }
  if (isRefusedCredentials(err)) {
    return new SessionExpiredError(
      `STS refused the credentials that assume ${step.roleArn} for profile ${profileName} (${name}).`,
      { hint: `sso-docker login --profile ${profileName}`, cause: err },
    );
  }
  if (name === "ValidationError") {
    return new ConfigError(
      `STS refused the AssumeRole settings of profile ${step.profileName}${via === "" ? "" : ` (for profile ${profileName})`}: ${detail}`,
      {
        hint: `Edit role_arn, role_session_name, external_id or duration_seconds in ${section}`,
        cause: err,
      },
    );
  }
  const status = httpStatusOf(err);
  const statusText = status === undefined ? "" : ` (HTTP ${status})`;
  return new AwsServiceError(
    `AssumeRole of ${step.roleArn} failed for profile ${profileName}${statusText}, ${name}${detail === "" ? "" : `: ${detail}`}`,
    {
      hint: isTransientServiceError(err) ? "try again in a minute" : `Check ${section}`,
      cause: err,
    },
  );
}
