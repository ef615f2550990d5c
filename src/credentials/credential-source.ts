import { getAccessToken } from "../auth/access-token.js";
import { createPortalClient, portalOrigin } from "../auth/sso-clients.js";
import { toServiceError } from "../auth/service-errors.js";
import type { Deps } from "../runtime/deps.js";
import {
  readCliCachedCredentials,
  removeCliCachedCredentials,
  writeCliCachedCredentials,
} from "./cli-credential-cache.js";
import { getRoleCredentials } from "./portal.js";
import { isFresh } from "./refresh-timing.js";
import type { ResolvedProfile } from "./resolve-profile.js";
import { RoleChainSource } from "./role-chain-source.js";
import type { RoleCredentials } from "./role-credentials.js";
import { identityKey } from "./role-credentials.js";
import { SingleFlightCache } from "./single-flight-cache.js";

export interface CredentialSourceOptions {
  /** Share role credentials with the AWS CLI's ~/.aws/cli/cache (default true). */
  useCliCache?: boolean;
  /**
   * Test seam: GetRoleCredentials itself (default: the SSO portal, with the session's access
   * token). Caching, sharing and the issue time stay this class's.
   */
  getRoleCredentials?: (resolved: ResolvedProfile) => Promise<RoleCredentials>;
}

type Fetcher = (resolved: ResolvedProfile) => Promise<RoleCredentials>;

/**
 * Role credentials per (session, account, role): memory first, then the AWS CLI's cache,
 * then one GetRoleCredentials shared by every concurrent caller. What is due for replacement
 * (refresh-timing.ts) is fetched anew. A profile that assumes a role gets the chain's last
 * credentials, the SSO role's being its first source.
 */
export class CredentialSource {
  private readonly cache: SingleFlightCache<RoleCredentials>;
  private readonly useCliCache: boolean;
  private readonly requestCredentials: Fetcher;
  private readonly chains: RoleChainSource;

  constructor(
    private readonly deps: Deps,
    options: CredentialSourceOptions = {},
  ) {
    this.useCliCache = options.useCliCache ?? true;
    this.requestCredentials = options.getRoleCredentials ?? ((resolved) => this.fromPortal(resolved));
    this.cache = new SingleFlightCache((c) => this.isFresh(c));
    this.chains = new RoleChainSource(deps, {
      isFresh: (c) => this.isFresh(c),
      useCliCache: this.useCliCache,
      // The AWS CLI keeps a chain's SSO role credentials in memory only; so do we, so both leave the same files.
      root: (resolved) => this.ssoRole(resolved, { persist: false }),
      discardRoot: (resolved) => this.discardSsoRole(resolved),
    });
  }

  async get(resolved: ResolvedProfile): Promise<RoleCredentials> {
    return resolved.chain ? this.chains.get(resolved, resolved.chain) : this.ssoRole(resolved);
  }

  /** Fresh credentials for this profile that memory or the AWS CLI's cache already holds: no call. */
  async cached(resolved: ResolvedProfile): Promise<RoleCredentials | undefined> {
    if (resolved.chain) return this.chains.cached(resolved, resolved.chain);
    const key = identityKey(resolved.identity);
    const inMemory = this.cache.peek(key);
    if (inMemory !== undefined && this.isFresh(inMemory)) return inMemory;
    const found = await this.fromCliCache(resolved);
    if (found !== undefined) this.cache.set(key, found);
    return found;
  }

  /** Forget what is cached for this profile, e.g. after logout. */
  forget(resolved: ResolvedProfile): void {
    this.cache.delete(identityKey(resolved.identity));
    if (resolved.chain) this.chains.forget(resolved, resolved.chain);
  }

  private ssoRole(resolved: ResolvedProfile, options = { persist: true }): Promise<RoleCredentials> {
    return this.cache.get(identityKey(resolved.identity), () => this.fetch(resolved, options.persist));
  }

  private async discardSsoRole(resolved: ResolvedProfile): Promise<void> {
    this.cache.delete(identityKey(resolved.identity));
    if (this.useCliCache) await removeCliCachedCredentials(this.deps.paths.cliCacheDir, resolved.identity);
  }

  private isFresh(credentials: RoleCredentials): boolean {
    return isFresh(credentials, this.deps.clock.now());
  }

  private async fromCliCache(resolved: ResolvedProfile): Promise<RoleCredentials | undefined> {
    if (!this.useCliCache) return undefined;
    const found = await readCliCachedCredentials(this.deps.paths.cliCacheDir, resolved.identity);
    return found && this.isFresh(found) ? found : undefined;
  }

  private async fetch(resolved: ResolvedProfile, persist: boolean): Promise<RoleCredentials> {
    const { deps } = this;
    const cached = await this.fromCliCache(resolved);
    if (cached !== undefined) return cached;
    const fetched = await this.requestCredentials(resolved);
    // Counted from the answer, not the request: a lifetime never longer than the real one, so
    // credentials are never due on arrival, however long the call (or a token refresh) took.
    const credentials = { ...fetched, issuedAt: deps.clock.now() };
    if (this.useCliCache && persist)
      await writeCliCachedCredentials(deps.paths.cliCacheDir, resolved.identity, credentials);
    return credentials;
  }

  private async fromPortal(resolved: ResolvedProfile): Promise<RoleCredentials> {
    const { deps } = this;
    const { session, identity, endpoints } = resolved;
    const token = await getAccessToken(deps, session, endpoints.oidc);
    const client = await createPortalClient(session.ssoRegion, endpoints.portal);
    try {
      const credentials = await getRoleCredentials(client, {
        accessToken: token.accessToken,
        accountId: identity.accountId,
        roleName: identity.roleName,
      });
      deps.logger.debug(
        `GetRoleCredentials ${identity.roleName}@${identity.accountId} for profile ${session.profileName}`,
      );
      return credentials;
    } catch (err) {
      throw toServiceError(err, {
        operation: "GetRoleCredentials",
        profileName: session.profileName,
        endpoint: portalOrigin(session.ssoRegion, endpoints.portal),
      });
    } finally {
      client.destroy();
    }
  }
}
