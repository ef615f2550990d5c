import type { RoleCredentials } from "../credentials/role-credentials.js";

/**
 * When to re-fetch and re-push: once less than min(20 min, L/2) of a lifetime L remains.
 * Real 1 h credentials are replaced with 20 min left, before botocore (15/10 min) and the
 * JS SDK v3 (5 min) start refreshing in the container; 30 s test credentials every ~15 s.
 */
export const MAX_REFRESH_WINDOW_MS = 20 * 60_000;

export function refreshWindowMs(lifetimeMs: number): number {
  return Math.min(MAX_REFRESH_WINDOW_MS, Math.max(0, lifetimeMs) / 2);
}

/** Epoch ms at which credentials expiring at `expiration` with lifetime `lifetimeMs` are due. */
export function refreshDueAt(expiration: number, lifetimeMs: number): number {
  return expiration - refreshWindowMs(lifetimeMs);
}

export function needsRefresh(expiration: number, lifetimeMs: number, now: number): boolean {
  return expiration - now <= refreshWindowMs(lifetimeMs);
}

/**
 * GetRoleCredentials says when credentials expire, not when they were issued, so the
 * lifetime is measured from when this process first saw them (right after the fetch).
 */
export class LifetimeTracker {
  private readonly firstSeen = new Map<string, { at: number; expiration: number }>();

  constructor(private readonly now: () => number) {}

  /** Records the credentials if new; returns their lifetime in ms. */
  observe(credentials: RoleCredentials): number {
    const now = this.now();
    let seen = this.firstSeen.get(credentials.accessKeyId);
    if (seen === undefined) {
      this.prune(now);
      seen = { at: now, expiration: credentials.expiration };
      this.firstSeen.set(credentials.accessKeyId, seen);
    }
    return credentials.expiration - seen.at;
  }

  dueAt(credentials: RoleCredentials): number {
    return refreshDueAt(credentials.expiration, this.observe(credentials));
  }

  /** The `minValidityMs` option of CredentialSource: the same rule, so one fetch serves all. */
  readonly minValidityMs = (credentials: RoleCredentials): number =>
    refreshWindowMs(this.observe(credentials));

  private prune(now: number): void {
    for (const [key, seen] of this.firstSeen) if (seen.expiration <= now) this.firstSeen.delete(key);
  }
}
