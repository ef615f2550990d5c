import type { RoleCredentials } from "./role-credentials.js";

/**
 * When role credentials are due for replacement: once less than min(20 min, half their
 * lifetime) remains. Every user of role credentials decides by this rule: the agent's refresh
 * rounds, the shared cache's "fresh enough", `sso-docker credentials`.
 *
 * 20 min: botocore refreshes 15 min (advisory) and 10 min (mandatory) ahead of expiry, the JS
 * SDK v3 5 min; credentials replaced with 20 min left are never inside any SDK's window, so an
 * SDK in a container never refreshes on its own from a file about to be replaced. Half the
 * lifetime: short credentials (the fake's 30-s ones) are replaced halfway, never on every call.
 *
 * The lifetime is expiration − issuedAt, the moment this process received them (first sight):
 * never longer than the real lifetime, so credentials are never due on arrival, however slow
 * the call. Credentials read from the AWS CLI's cache carry no issue time; they are taken to
 * have lived at least 1 h, IAM Identity Center's shortest permission-set session, so their
 * lead is the full 20 min. Measuring those from first sight would take what is left for the
 * lifetime in a short-lived process (`sso-docker credentials` run by an SDK's
 * credential_process): it would hand out credentials seconds from expiry, which botocore
 * rejects as "refreshed, but still expired". The only cost of the assumption: cached
 * credentials shorter than 40 min are fetched anew rather than reused, and what a fetch returns
 * carries its issue time, so no schedule ever rests on it.
 */
export const MAX_REFRESH_LEAD_MS = 20 * 60_000;

/** The lifetime assumed when the issue time is unknown: IAM Identity Center's minimum. */
const MIN_SERVICE_LIFETIME_MS = 60 * 60_000;

function lifetimeMs(credentials: RoleCredentials): number {
  return credentials.issuedAt === undefined
    ? MIN_SERVICE_LIFETIME_MS
    : credentials.expiration - credentials.issuedAt;
}

/** How long before expiry the credentials are replaced. */
export function refreshLeadMs(credentials: RoleCredentials): number {
  return Math.min(MAX_REFRESH_LEAD_MS, Math.max(0, lifetimeMs(credentials)) / 2);
}

/** Epoch ms from which the credentials are due for replacement. */
export function refreshDueAt(credentials: RoleCredentials): number {
  return credentials.expiration - refreshLeadMs(credentials);
}

/** Whether, at `now`, the credentials are still good to hand out and push. */
export function isFresh(credentials: RoleCredentials, now: number): boolean {
  return now < refreshDueAt(credentials);
}
