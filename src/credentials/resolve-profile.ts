import type { Deps } from "../runtime/deps.js";
import { ProfileError } from "../runtime/errors.js";
import { loadAwsConfig } from "../aws-files/config-read.js";
import { withCredentialsFile } from "../aws-files/credentials-file.js";
import { resolveSsoEndpoints } from "../aws-files/endpoints.js";
import { assertAllowedInContainers, resolveSsoProfile } from "../aws-files/profiles.js";
import type { SsoProfile } from "../aws-files/profiles.js";
import { resolveRoleChain, type RoleChain } from "../aws-files/role-chain.js";
import type { SessionRef } from "../auth/session-ref.js";
import { DEFAULT_SCOPES } from "../auth/session-ref.js";
import type { SsoEndpoints } from "../auth/sso-clients.js";
import type { RoleIdentity } from "./role-credentials.js";
import { resolveStsSettings, type StsSettings } from "./sts-settings.js";

export interface ResolvedChain extends RoleChain {
  sts: StsSettings;
}

/**
 * Everything the host side needs to know about one profile, resolved once. For a profile that
 * assumes a role (`role_arn`), `profile`, `identity` and `session` are those of the IAM Identity
 * Center profile at the root of its chain, and `chain` holds the AssumeRole steps from there.
 */
export interface ResolvedProfile {
  profile: SsoProfile;
  session: SessionRef;
  identity: RoleIdentity;
  endpoints: SsoEndpoints;
  chain?: ResolvedChain;
}

/** The account and role whose credentials the profile yields: the last role assumed, else the SSO role. */
export function finalRole(resolved: ResolvedProfile): { accountId: string; roleName: string } {
  const last = resolved.chain?.steps.at(-1);
  return last ?? resolved.identity;
}

export function sessionOf(profile: SsoProfile): SessionRef {
  return profile.kind === "sso-session"
    ? {
        kind: "sso-session",
        sessionName: profile.sessionName,
        startUrl: profile.startUrl,
        ssoRegion: profile.ssoRegion,
        scopes: profile.scopes.length > 0 ? profile.scopes : [...DEFAULT_SCOPES],
        configuredScopes: profile.configuredScopes,
        profileName: profile.profileName,
      }
    : {
        kind: "legacy",
        sessionName: undefined,
        startUrl: profile.startUrl,
        ssoRegion: profile.ssoRegion,
        scopes: [...DEFAULT_SCOPES],
        profileName: profile.profileName,
      };
}

/**
 * Reads ~/.aws/config (as the SDKs do) and resolves the named profile, its session and endpoints.
 * `forContainer`: the credentials are for a container, which the profile's allow-list key
 * (`sso_docker_containers = false`) refuses.
 */
export async function resolveProfile(
  deps: Deps,
  profileName: string,
  options: { forContainer?: boolean } = {},
): Promise<ResolvedProfile> {
  const { configFile } = deps.paths;
  const config = await loadAwsConfig(configFile);
  // The AWS CLI resolves role_arn / source_profile over both files.
  const known = await withCredentialsFile(config, deps.paths.credentialsFile);
  const chain = resolveRoleChain(known, profileName, configFile);
  const profile = chain
    ? resolveSsoProfile(known, chain.sourceProfile, configFile)
    : resolveSsoProfile(config, profileName, configFile);
  if (options.forContainer === true) {
    assertAllowedInContainers(config, profileName, configFile);
    if (chain) {
      throw new ProfileError(
        `Profile "${profileName}" assumes a role (role_arn, from profile "${chain.sourceProfile}"); sso-docker does not supply role-chained profiles to containers yet.`,
        { hint: `Use it on the host: sso-docker credentials --profile ${profileName}` },
      );
    }
  }
  return {
    profile,
    // Messages and hints name the profile the user asked for; `login --profile` resolves it to the same session.
    session: { ...sessionOf(profile), profileName },
    identity: {
      sessionName: profile.kind === "sso-session" ? profile.sessionName : undefined,
      startUrl: profile.startUrl,
      accountId: profile.accountId,
      roleName: profile.roleName,
    },
    endpoints: resolveSsoEndpoints({ env: deps.env, config, profileName }),
    ...(chain
      ? {
          chain: {
            ...chain,
            sts: resolveStsSettings({ env: deps.env, config: known, profileName, configFile }),
          },
        }
      : {}),
  };
}
