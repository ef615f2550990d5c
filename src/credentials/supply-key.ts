import type { AssumeRoleStep } from "../aws-files/role-chain.js";
import { assumeRoleCacheKey } from "./assume-role-cache.js";
import type { ResolvedProfile } from "./resolve-profile.js";
import type { RoleIdentity } from "./role-credentials.js";
import { identityKey } from "./role-credentials.js";

/**
 * The key of one set of credentials that profiles share: the SSO role, then each AssumeRole
 * request made from it (role ARN, session name, external id, duration: botocore's cache key).
 * Profile names are not part of it, so two names for one chain share one fetch, and the same
 * role assumed from two sources, or with other settings, is another key.
 */
export function chainPrefixKey(identity: RoleIdentity, steps: readonly AssumeRoleStep[]): string {
  return [identityKey(identity), ...steps.map(assumeRoleCacheKey)].join(">");
}

/** What the agent fetches once per refresh round and pushes to every container that uses it. */
export function supplyKey(resolved: ResolvedProfile): string {
  return chainPrefixKey(resolved.identity, resolved.chain?.steps ?? []);
}
