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
}

export const DEFAULT_LIFETIMES: Readonly<Lifetimes> = {
  accessTokenSeconds: 8 * 3600,
  refreshTokenSeconds: 90 * 86400,
  roleCredentialSeconds: 3600,
  deviceCodeSeconds: 600,
  registrationSeconds: 90 * 86400,
  pollIntervalSeconds: 1,
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
  /** Milliseconds since the epoch, from the injected clock. */
  at: number;
}

export interface RequestFilter {
  method?: string;
  status?: number;
  errorType?: string;
  operation?: string;
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
