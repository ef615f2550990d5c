import { AwsServiceError, ProfileError, SessionExpiredError } from "../runtime/errors.js";
import type { SsoDockerError } from "../runtime/errors.js";

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EAI_AGAIN",
]);

export interface ServiceErrorContext {
  /** What we were doing, e.g. "GetRoleCredentials". */
  operation: string;
  profileName: string;
  /** Where the request went, for "cannot reach" messages. */
  endpoint: string;
}

function errorName(err: unknown): string {
  const shape = err as SdkErrorShape | null;
  return typeof shape?.name === "string" ? shape.name : "Error";
}

export function httpStatusOf(err: unknown): number | undefined {
  return (err as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

export function isNetworkError(err: unknown): boolean {
  const code = (err as SdkErrorShape | null)?.code;
  return typeof code === "string" && NETWORK_CODES.has(code);
}

/** True for failures worth retrying later: throttling, 5xx, network. */
export function isTransientServiceError(err: unknown): boolean {
  const status = httpStatusOf(err);
  return isNetworkError(err) || status === 429 || (status !== undefined && status >= 500);
}

/**
 * Turns an AWS SDK or network error into one of ours. Service messages are safe to show
 * (they never echo tokens); nothing from the request is included.
 */
export function toServiceError(err: unknown, context: ServiceErrorContext): SsoDockerError {
  const { operation, profileName, endpoint } = context;
  const login = `sso-docker login --profile ${profileName}`;
  const name = errorName(err);
  const status = httpStatusOf(err);
  if (isNetworkError(err)) {
    const code = String((err as SdkErrorShape).code);
    return new AwsServiceError(
      `Cannot reach IAM Identity Center at ${endpoint} (${code}) for profile ${profileName}.`,
      {
        hint: "check the network, or the AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL_SSO_OIDC settings",
        cause: err,
      },
    );
  }
  if (
    name === "UnauthorizedException" ||
    name === "InvalidGrantException" ||
    name === "InvalidClientException"
  ) {
    return new SessionExpiredError(`The SSO session for profile ${profileName} has expired or was revoked.`, {
      hint: login,
      cause: err,
    });
  }
  if (name === "ForbiddenException" || name === "ResourceNotFoundException") {
    return new ProfileError(
      `IAM Identity Center refused ${operation} for profile ${profileName}: the account or role is not assigned to you.`,
      { hint: `sso-docker configure --profile ${profileName}`, cause: err },
    );
  }
  const detail =
    typeof (err as SdkErrorShape | null)?.message === "string"
      ? `: ${String((err as SdkErrorShape).message)}`
      : "";
  const statusText = status === undefined ? "" : ` (HTTP ${status})`;
  return new AwsServiceError(
    `${operation} failed for profile ${profileName}${statusText}, ${name}${detail}`,
    {
      hint: isTransientServiceError(err) ? "try again in a minute" : login,
      cause: err,
    },
  );
}
