import type { Deps } from "../runtime/deps.js";
import { loadAwsConfig, lookupSection, type AwsConfig } from "../aws-files/config-read.js";
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
  /** The named profile's own `region` / `output`: a container's config shows those, not the SSO root's. */
  settings: ProfileOutputSettings;
}

export interface ProfileOutputSettings {
  region?: string;
  output?: string;
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

const CHAIN_FAULT = Symbol.for("sso-docker.RoleChainFault");

/**
 * Whether resolveProfile failed on the profile's role chain (a loop, a missing or non-SSO
 * source): a fault of that profile alone, where any other failure (kept out of containers, not
 * an SSO profile at all) is one of the container's request as a whole.
 */
export function isChainFault(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[CHAIN_FAULT] === true;
}

function asChainFault<T>(resolve: () => T): T {
  try {
    return resolve();
  } catch (err) {
    if (typeof err === "object" && err !== null) Object.defineProperty(err, CHAIN_FAULT, { value: true });
    throw err;
  }
}

/** `region` and `output` of the profile as named: its own for a chain, else the SSO profile's. */
export function outputSettings(resolved: ResolvedProfile): ProfileOutputSettings {
  const { region, output } = resolved.chain?.settings ?? resolved.profile;
  // An empty `region =` says nothing: the container's config leaves it out rather than write it empty.
  return { ...(region ? { region } : {}), ...(output ? { output } : {}) };
}

/** "app ← sso-base (AssumeRole arn:aws:iam::…:role/x)", or undefined for a profile that assumes no role. */
export function describeChain(resolved: ResolvedProfile): string | undefined {
  const { chain } = resolved;
  if (!chain) return undefined;
  const names = [...chain.steps.map((s) => s.profileName).reverse(), chain.sourceProfile];
  return `${names.join(" ← ")} (AssumeRole ${chain.steps.map((s) => s.roleArn).join(", then ")})`;
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
  // A profile kept out of containers is refused as such, whatever its chain.
  if (options.forContainer === true) assertAllowedInContainers(config, profileName, configFile);
  const chain = asChainFault(() => resolveRoleChain(known, profileName, configFile));
  const profile = chain
    ? asChainFault(() => resolveSsoProfile(known, chain.sourceProfile, configFile))
    : resolveSsoProfile(config, profileName, configFile);
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
            settings: namedSettings(known, profileName),
          },
        }
      : {}),
  };
}

function namedSettings(config: AwsConfig, profileName: string): ProfileOutputSettings {
  const section = lookupSection(config.profiles, profileName) ?? {};
  const { region, output } = section;
  return { ...(region === undefined ? {} : { region }), ...(output === undefined ? {} : { output }) };
}
