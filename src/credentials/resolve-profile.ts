import type { Deps } from "../runtime/deps.js";
import { loadAwsConfig } from "../aws-files/config-read.js";
import { resolveSsoEndpoints } from "../aws-files/endpoints.js";
import { assertAllowedInContainers, resolveSsoProfile } from "../aws-files/profiles.js";
import type { SsoProfile } from "../aws-files/profiles.js";
import type { SessionRef } from "../auth/session-ref.js";
import { DEFAULT_SCOPES } from "../auth/session-ref.js";
import type { SsoEndpoints } from "../auth/sso-clients.js";
import type { RoleIdentity } from "./role-credentials.js";

/** Everything the host side needs to know about one profile, resolved once. */
export interface ResolvedProfile {
  profile: SsoProfile;
  session: SessionRef;
  identity: RoleIdentity;
  endpoints: SsoEndpoints;
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
  const config = await loadAwsConfig(deps.paths.configFile);
  const profile = resolveSsoProfile(config, profileName, deps.paths.configFile);
  if (options.forContainer === true) assertAllowedInContainers(config, profileName, deps.paths.configFile);
  return {
    profile,
    session: sessionOf(profile),
    identity: {
      sessionName: profile.kind === "sso-session" ? profile.sessionName : undefined,
      startUrl: profile.startUrl,
      accountId: profile.accountId,
      roleName: profile.roleName,
    },
    endpoints: resolveSsoEndpoints({ env: deps.env, config, profileName }),
  };
}
