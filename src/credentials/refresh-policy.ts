import type { RoleCredentials } from "./role-credentials.js";

/** botocore refreshes 15 min (advisory) and 10 min (mandatory) ahead, JS v3 5 min: stay ahead of all. */
const MAX_LEAD_MS = 20 * 60_000;
/** What GetRoleCredentials gives by default, for credentials whose issue time is unknown. */
const DEFAULT_LIFETIME_MS = 60 * 60_000;

/**
 * How long before expiry credentials are replaced: min(20 min, half their lifetime). Real 1 h
 * credentials are replaced with 20 min left, so a container never holds credentials inside any
 * SDK's refresh window; 30-s test credentials are replaced every ~15 s.
 */
export function refreshLeadMs(credentials: RoleCredentials): number {
  const lifetime =
    credentials.issuedAt === undefined ? DEFAULT_LIFETIME_MS : credentials.expiration - credentials.issuedAt;
  return Math.min(MAX_LEAD_MS, Math.max(0, lifetime) / 2);
}

/** Epoch ms at which these credentials should be replaced. */
export function refreshAt(credentials: RoleCredentials): number {
  return credentials.expiration - refreshLeadMs(credentials);
}
