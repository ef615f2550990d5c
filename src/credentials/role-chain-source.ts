import type { AssumeRoleStep } from "../aws-files/role-chain.js";
import type { Deps } from "../runtime/deps.js";
import { assumeRole } from "./assume-role.js";
import {
  readAssumeRoleCache,
  removeAssumeRoleCache,
  writeAssumeRoleCache,
  type AssumedRoleCredentials,
} from "./assume-role-cache.js";
import { isRefusedCredentials, toAssumeRoleError } from "./assume-role-errors.js";
import type { ResolvedChain, ResolvedProfile } from "./resolve-profile.js";
import type { RoleCredentials } from "./role-credentials.js";
import { SingleFlightCache } from "./single-flight-cache.js";
import { stsOrigin } from "./sts-settings.js";
import { chainPrefixKey } from "./supply-key.js";

export interface RoleChainSourceOptions {
  isFresh: (credentials: RoleCredentials) => boolean;
  useCliCache: boolean;
  /** The SSO role credentials at the root of the chain. */
  root: (resolved: ResolvedProfile) => Promise<RoleCredentials>;
  /** Forget the root's credentials everywhere they are cached: STS refused them. */
  discardRoot: (resolved: ResolvedProfile) => Promise<void>;
}

/**
 * Credentials of a role chain, step by step: each AssumeRole result from memory, else from
 * the AWS CLI's cache, else one AssumeRole shared by every concurrent caller, signed with the
 * step before (the SSO role credentials for the first). As in the AWS CLI, a cached last step
 * needs nothing else: no SSO token, no earlier step.
 */
export class RoleChainSource {
  private readonly cache: SingleFlightCache<AssumedRoleCredentials>;

  constructor(
    private readonly deps: Deps,
    private readonly options: RoleChainSourceOptions,
  ) {
    this.cache = new SingleFlightCache(options.isFresh);
  }

  get(resolved: ResolvedProfile, chain: ResolvedChain): Promise<AssumedRoleCredentials> {
    return this.step(resolved, chain, chain.steps.length - 1);
  }

  /** The last step's credentials if memory or the AWS CLI's cache holds fresh ones: no call. */
  async cached(resolved: ResolvedProfile, chain: ResolvedChain): Promise<AssumedRoleCredentials | undefined> {
    const last = chain.steps.length - 1;
    const key = stepKey(resolved, chain, last);
    const inMemory = this.cache.peek(key);
    if (inMemory !== undefined && this.options.isFresh(inMemory)) return inMemory;
    const found = await this.fromCliCache(chain.steps[last]);
    if (found !== undefined) this.cache.set(key, found);
    return found;
  }

  forget(resolved: ResolvedProfile, chain: ResolvedChain): void {
    for (let i = 0; i < chain.steps.length; i++) this.cache.delete(stepKey(resolved, chain, i));
  }

  private step(
    resolved: ResolvedProfile,
    chain: ResolvedChain,
    index: number,
  ): Promise<AssumedRoleCredentials> {
    return this.cache.get(stepKey(resolved, chain, index), () => this.fetch(resolved, chain, index));
  }

  private async fromCliCache(step: AssumeRoleStep | undefined): Promise<AssumedRoleCredentials | undefined> {
    if (!this.options.useCliCache || step === undefined) return undefined;
    const found = await readAssumeRoleCache(this.deps.paths.cliCacheDir, step);
    return found && this.options.isFresh(found) ? found : undefined;
  }

  private source(resolved: ResolvedProfile, chain: ResolvedChain, index: number): Promise<RoleCredentials> {
    return index === 0 ? this.options.root(resolved) : this.step(resolved, chain, index - 1);
  }

  /** STS refused the source as expired or unknown although its Expiration says otherwise: drop it everywhere. */
  private async discardSource(resolved: ResolvedProfile, chain: ResolvedChain, index: number): Promise<void> {
    if (index === 0) {
      await this.options.discardRoot(resolved);
      return;
    }
    this.cache.delete(stepKey(resolved, chain, index - 1));
    const before = chain.steps[index - 1];
    if (this.options.useCliCache && before !== undefined) {
      await removeAssumeRoleCache(this.deps.paths.cliCacheDir, before);
    }
  }

  private async fetch(
    resolved: ResolvedProfile,
    chain: ResolvedChain,
    index: number,
  ): Promise<AssumedRoleCredentials> {
    const { deps } = this;
    const step = chain.steps[index];
    if (step === undefined)
      throw new Error(`role chain of ${resolved.session.profileName} has no step ${index}`);
    const cached = await this.fromCliCache(step);
    if (cached !== undefined) return cached;

    const context = {
      profileName: resolved.session.profileName,
      step,
      endpoint: stsOrigin(chain.sts),
      configFile: deps.paths.configFile,
    };
    const assumeWith = async (source: RoleCredentials): Promise<AssumedRoleCredentials> => {
      const now = deps.clock.now();
      try {
        const credentials = await assumeRole({
          source,
          step,
          sts: chain.sts,
          // botocore names an unnamed session after the time too; this one says who made it.
          sessionName: step.roleSessionName ?? `sso-docker-${Math.floor(now / 1000)}`,
        });
        return { ...credentials, issuedAt: now };
      } catch (err) {
        if (isRefusedCredentials(err)) throw new RefusedSource(err);
        throw toAssumeRoleError(err, context);
      }
    };
    // Failures to get the source (a dead SSO session, an earlier step) pass through as they are.
    let credentials: AssumedRoleCredentials;
    try {
      credentials = await assumeWith(await this.source(resolved, chain, index));
    } catch (err) {
      if (!(err instanceof RefusedSource)) throw err;
      // Cached source credentials STS no longer takes (revoked, or a clock that runs behind): once more with fresh ones.
      await this.discardSource(resolved, chain, index);
      credentials = await assumeWith(await this.source(resolved, chain, index)).catch((again: unknown) => {
        throw again instanceof RefusedSource ? toAssumeRoleError(again.cause, context) : again;
      });
    }
    deps.logger.debug(
      `AssumeRole ${step.roleArn} (profile ${step.profileName}) for profile ${context.profileName}`,
    );
    if (this.options.useCliCache) await writeAssumeRoleCache(deps.paths.cliCacheDir, step, credentials);
    return credentials;
  }
}

/** STS refused the source credentials themselves; private to this module, so instanceof is safe. */
class RefusedSource extends Error {
  constructor(override readonly cause: unknown) {
    super("STS refused the source credentials");
  }
}

/** One memory entry per chain prefix: the same role assumed from different sources is not the same session. */
function stepKey(resolved: ResolvedProfile, chain: ResolvedChain, index: number): string {
  return chainPrefixKey(resolved.identity, chain.steps.slice(0, index + 1));
}
