import type { Clock } from "../runtime/clock.js";

export interface FakeAccount {
  accountId: string;
  accountName: string;
  emailAddress: string;
  roles: readonly string[];
}

/** All in seconds. A change applies to what is issued afterwards. */
export interface Lifetimes {
  accessTokenSeconds: number;
  refreshTokenSeconds: number;
  roleCredentialSeconds: number;
  deviceCodeSeconds: number;
  registrationSeconds: number;
  /** The device-flow poll interval; polling sooner answers SlowDown. 0 turns that check off. */
  pollIntervalSeconds: number;
  /**
   * Credentials from AssumeRole last at most this long, whatever DurationSeconds asked for
   * (STS's own floor is 900 s; tests of rotation need less). 0 turns the cap off.
   */
  assumedRoleCapSeconds: number;
}

export const DEFAULT_LIFETIMES: Readonly<Lifetimes> = {
  accessTokenSeconds: 8 * 3600,
  refreshTokenSeconds: 90 * 86400,
  roleCredentialSeconds: 3600,
  deviceCodeSeconds: 600,
  registrationSeconds: 90 * 86400,
  pollIntervalSeconds: 1,
  assumedRoleCapSeconds: 0,
};

export const DEFAULT_ACCOUNTS: readonly FakeAccount[] = [
  {
    accountId: "111111111111",
    accountName: "dev",
    emailAddress: "aws-dev@example.com",
    roles: ["AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess"],
  },
  {
    accountId: "222222222222",
    accountName: "staging",
    emailAddress: "aws-staging@example.com",
    roles: ["PowerUserAccess", "ReadOnlyAccess"],
  },
  {
    accountId: "333333333333",
    accountName: "prod",
    emailAddress: "aws-prod@example.com",
    roles: ["ReadOnlyAccess"],
  },
];

/**
 * An IAM role that STS AssumeRole can enter: a role in a workload account, not an IAM Identity
 * Center assignment. Its ARN is `arn:aws:iam::ACCOUNT:role{path}{roleName}`.
 */
export interface FakeIamRole {
  accountId: string;
  roleName: string;
  /** IAM path, "/" when absent (e.g. "/teams/app/"). */
  path?: string;
  /** MaxSessionDuration in seconds (3600..43200); 3600 when absent. */
  maxSessionSeconds?: number;
  /** The trust policy's sts:ExternalId condition: AssumeRole must send exactly this. */
  externalId?: string;
  /**
   * The principals the trust policy names: role ARNs (`arn:aws:iam::111111111111:role/ReadOnlyAccess`)
   * or whole accounts (`arn:aws:iam::111111111111:root`). Absent: every caller the fake issued
   * credentials to.
   */
  trustedPrincipals?: readonly string[];
}

export const DEFAULT_IAM_ROLES: readonly FakeIamRole[] = [
  { accountId: "444444444444", roleName: "workload-deployer", maxSessionSeconds: 43200 },
  { accountId: "444444444444", roleName: "workload-readonly", path: "/teams/app/" },
  {
    accountId: "555555555555",
    roleName: "partner-audit",
    externalId: "partner-7f3a",
    trustedPrincipals: ["arn:aws:iam::444444444444:root"],
  },
];

/** The ARN AssumeRole names a role by. */
export function iamRoleArn(role: FakeIamRole): string {
  return `arn:aws:iam::${role.accountId}:role${role.path ?? "/"}${role.roleName}`;
}

/** What the browser step of the PKCE flow does: redirect with a code, with access_denied, or show a page. */
export type AuthorizeOutcome = "approve" | "deny" | "prompt";

export interface FakeIdcOptions {
  /** Default 127.0.0.1; use 0.0.0.0 when containers must reach it. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  clock?: Clock;
  lifetimes?: Partial<Lifetimes>;
  accounts?: readonly FakeAccount[];
  /** Roles STS AssumeRole can enter. Default DEFAULT_IAM_ROLES. */
  iamRoles?: readonly FakeIamRole[];
  /** The page size when a caller sends no `max_result` (small values exercise pagination). Default 20. */
  pageSize?: number;
  /** Device codes approve themselves on their first poll (for the demo). */
  autoApprove?: boolean;
  /** Default "approve". */
  authorizeOutcome?: AuthorizeOutcome;
  /** The signed-in user, as it appears in STS ARNs. Default "developer". */
  userName?: string;
  /** Called after each request is answered (entries carry no secrets). */
  onRequest?: (entry: RequestLogEntry) => void;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  /** Query parameters, with codes, state and signatures replaced by "***". */
  query: Record<string, string>;
  status: number;
  errorType?: string;
  /** The OIDC grant (`device_code`, `authorization_code`, `refresh_token`) or the STS action. */
  operation?: string;
  /** The RoleArn an STS AssumeRole asked for, answered or refused. */
  roleArn?: string;
  /** The region an STS request was signed for (its SigV4 credential scope). */
  signingRegion?: string;
  /** Milliseconds since the epoch, from the injected clock. */
  at: number;
}

export interface RequestFilter {
  method?: string;
  status?: number;
  errorType?: string;
  operation?: string;
  roleArn?: string;
}

/** Make the next `count` requests to `path` fail with `status`, in that service's error format. */
export interface FailureSpec {
  path: string;
  method?: string;
  status: number;
  /** Default by status: 429 TooManyRequestsException (STS: Throttling), 5xx InternalServerException (STS: InternalFailure). */
  errorType?: string;
  message?: string;
  /** Default 1. SDK clients retry 5xx and 429, so pass `maxAttempts: 1` or a larger count. */
  count?: number;
}

/** A device authorization as a human would see it; the device code itself stays inside the fake. */
export interface DeviceAuthorizationEvent {
  userCode: string;
  clientId: string;
  startUrl: string;
  verificationUriComplete: string;
  expiresAt: number;
}

/** Role credentials the fake issued, without their secrets. */
export interface IssuedCredential {
  accessKeyId: string;
  accountId: string;
  roleName: string;
  /** Epoch milliseconds. */
  expiration: number;
  issuedBy: "GetRoleCredentials" | "AssumeRole";
  /** The session name in the assumed-role ARN: the signed-in user, or AssumeRole's RoleSessionName. */
  sessionName: string;
}

/** A ready SSO session, as if a login had completed; for seeding token caches in tests. */
export interface SeededSession {
  clientId: string;
  clientSecret: string;
  /** Epoch milliseconds. */
  registrationExpiresAt: number;
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  refreshToken?: string;
}
