import type { Env } from "../runtime/env.js";
import { ConfigError, ProfileError } from "../runtime/errors.js";
import type { AwsConfig, IniSection } from "./config-read.js";
import { lookupSection } from "./config-read.js";

/** What the AWS CLI registers for when `sso_registration_scopes` is not set. */
export const DEFAULT_REGISTRATION_SCOPES: readonly string[] = ["sso:account:access"];

/** An `[sso-session NAME]` section, complete enough to log in with. */
export interface SsoSessionConfig {
  sessionName: string;
  startUrl: string;
  ssoRegion: string;
  /** Scopes to register with: `sso_registration_scopes`, or the default. */
  scopes: readonly string[];
  /**
   * `sso_registration_scopes` exactly as configured, undefined when the key is absent. The
   * AWS CLI keys its client-registration cache on this (None → null), not on the default.
   */
  configuredScopes?: readonly string[];
}

interface RoleSettings {
  profileName: string;
  accountId: string;
  roleName: string;
  region?: string;
  output?: string;
}

export interface SsoSessionProfile extends SsoSessionConfig, RoleSettings {
  kind: "sso-session";
}

/** A profile with `sso_start_url` / `sso_region` inline (device flow only, no refresh). */
export interface LegacySsoProfile extends RoleSettings {
  kind: "legacy";
  startUrl: string;
  ssoRegion: string;
}

export type SsoProfile = SsoSessionProfile | LegacySsoProfile;

/** Profile name precedence of the AWS CLI: `--profile`, AWS_PROFILE, AWS_DEFAULT_PROFILE, "default". */
export function selectProfileName(options: { flag?: string | undefined; env: Env }): string {
  for (const candidate of [options.flag, options.env["AWS_PROFILE"], options.env["AWS_DEFAULT_PROFILE"]]) {
    if (candidate) return candidate;
  }
  return "default";
}

/** The CLI's `parse_sso_registration_scopes`: comma-split, trimmed, empties dropped. */
export function parseRegistrationScopes(raw: string): string[] {
  return raw
    .split(",")
    .map((scope) => scope.trim())
    .filter((scope) => scope !== "");
}

function isSsoSection(section: IniSection): boolean {
  return Object.keys(section).some((key) => key.startsWith("sso_"));
}

/** Names of the profiles that carry IAM Identity Center settings, in file order. */
export function listSsoProfiles(config: AwsConfig): string[] {
  return Object.entries(config.profiles)
    .filter(([, section]) => isSsoSection(section))
    .map(([name]) => name);
}

export interface SsoSessionSummary {
  sessionName: string;
  startUrl?: string;
  ssoRegion?: string;
}

/** Every `[sso-session …]` section, complete or not, in file order. */
export function listSsoSessions(config: AwsConfig): SsoSessionSummary[] {
  return Object.entries(config.ssoSessions).map(([sessionName, section]) => ({
    sessionName,
    ...(section["sso_start_url"] === undefined ? {} : { startUrl: section["sso_start_url"] }),
    ...(section["sso_region"] === undefined ? {} : { ssoRegion: section["sso_region"] }),
  }));
}

function missingKeys(section: IniSection, keys: readonly string[]): string[] {
  return keys.filter((key) => !section[key]);
}

function configureHint(profileName: string): string {
  return `sso-docker configure --profile ${profileName}`;
}

/**
 * Resolves `[sso-session NAME]`. `usedBy` names the profile that refers to it, for the
 * message and the hint.
 */
export function resolveSsoSession(
  config: AwsConfig,
  sessionName: string,
  configFile: string,
  usedBy?: string,
): SsoSessionConfig {
  const via = usedBy === undefined ? "" : ` (used by profile "${usedBy}")`;
  const hint = usedBy === undefined ? "sso-docker configure" : configureHint(usedBy);
  const section = lookupSection(config.ssoSessions, sessionName);
  if (!section) {
    const known = Object.keys(config.ssoSessions);
    const listing = known.length > 0 ? ` Sessions there: ${known.join(", ")}.` : "";
    throw new ConfigError(`There is no [sso-session ${sessionName}] in ${configFile}${via}.${listing}`, {
      hint,
    });
  }
  const missing = missingKeys(section, ["sso_start_url", "sso_region"]);
  if (missing.length > 0) {
    throw new ConfigError(
      `[sso-session ${sessionName}] in ${configFile}${via} is missing ${missing.join(", ")}.`,
      {
        hint,
      },
    );
  }
  const rawScopes = section["sso_registration_scopes"];
  const configuredScopes = rawScopes === undefined ? undefined : parseRegistrationScopes(rawScopes);
  return {
    sessionName,
    startUrl: section["sso_start_url"] ?? "",
    ssoRegion: section["sso_region"] ?? "",
    scopes: configuredScopes?.length ? configuredScopes : DEFAULT_REGISTRATION_SCOPES,
    ...(configuredScopes === undefined ? {} : { configuredScopes }),
  };
}

function missingProfileError(config: AwsConfig, profileName: string, configFile: string): ProfileError {
  const known = listSsoProfiles(config);
  const listing = known.length > 0 ? ` SSO profiles there: ${known.join(", ")}.` : " It has no SSO profiles.";
  return new ProfileError(`Profile "${profileName}" is not in ${configFile}.${listing}`, {
    hint: configureHint(profileName),
  });
}

/**
 * `sso_docker_containers = false` in a profile's section keeps that profile out of every
 * container, whatever a container asks for: the user's own allow-list, on the host where code
 * in containers cannot reach it. The AWS CLI and the SDKs ignore keys they do not know.
 */
export const CONTAINERS_KEY = "sso_docker_containers";

/**
 * Whether containers may have the profile's credentials: no key or `true` = yes, `false` = no
 * (either case). Throws ConfigError naming the file for any other value.
 */
export function allowsContainers(config: AwsConfig, profileName: string, configFile: string): boolean {
  const raw = lookupSection(config.profiles, profileName)?.[CONTAINERS_KEY];
  if (raw === undefined) return true;
  const value = raw.trim().toLowerCase();
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(
    `Profile "${profileName}" in ${configFile} sets ${CONTAINERS_KEY} to ${JSON.stringify(raw)}; it must be true or false.`,
    {
      hint: `Edit ${configFile}: ${CONTAINERS_KEY} = false keeps the profile out of every container; true, or no such line, lets containers have it.`,
    },
  );
}

/** Throws ProfileError, naming the profile, the file and the key, when containers may not have it. */
export function assertAllowedInContainers(config: AwsConfig, profileName: string, configFile: string): void {
  if (allowsContainers(config, profileName, configFile)) return;
  throw new ProfileError(
    `Profile "${profileName}" is kept out of containers: ${configFile} sets ${CONTAINERS_KEY} = false for it.`,
    {
      hint: `Use it on the host only (sso-docker credentials --profile ${profileName}), or remove that line from ${configFile} to let containers have it.`,
    },
  );
}

/** Settings a profile must agree with its sso-session on; the AWS CLI refuses a mismatch. */
const SHARED_SESSION_KEYS = ["sso_start_url", "sso_region"] as const;

/**
 * The profile's IAM Identity Center settings, checked the way the AWS CLI checks them.
 * Throws ProfileError / ConfigError naming the profile and the file, with the next command.
 */
export function resolveSsoProfile(config: AwsConfig, profileName: string, configFile: string): SsoProfile {
  const section = lookupSection(config.profiles, profileName);
  if (!section) throw missingProfileError(config, profileName, configFile);
  if (!isSsoSection(section)) {
    throw new ProfileError(
      `Profile "${profileName}" in ${configFile} has no IAM Identity Center settings (sso_session or sso_start_url).`,
      { hint: configureHint(profileName) },
    );
  }
  const incomplete = (keys: string[]) =>
    new ConfigError(`Profile "${profileName}" in ${configFile} is missing ${keys.join(", ")}.`, {
      hint: configureHint(profileName),
    });
  const role = {
    profileName,
    accountId: section["sso_account_id"] ?? "",
    roleName: section["sso_role_name"] ?? "",
    ...(section["region"] === undefined ? {} : { region: section["region"] }),
    ...(section["output"] === undefined ? {} : { output: section["output"] }),
  };
  const roleMissing = missingKeys(section, ["sso_account_id", "sso_role_name"]);

  const sessionName = section["sso_session"];
  if (sessionName !== undefined) {
    const session = resolveSsoSession(config, sessionName, configFile, profileName);
    if (roleMissing.length > 0) throw incomplete(roleMissing);
    for (const key of SHARED_SESSION_KEYS) {
      const own = section[key];
      const shared = key === "sso_start_url" ? session.startUrl : session.ssoRegion;
      if (own !== undefined && own !== shared) {
        throw new ConfigError(
          `Profile "${profileName}" in ${configFile} sets ${key} to a different value than [sso-session ${sessionName}].`,
          { hint: `Remove ${key} from [profile ${profileName}], or run: ${configureHint(profileName)}` },
        );
      }
    }
    return { kind: "sso-session", ...session, ...role };
  }

  const missing = [...missingKeys(section, ["sso_start_url", "sso_region"]), ...roleMissing];
  if (missing.length > 0) throw incomplete(missing);
  return {
    kind: "legacy",
    startUrl: section["sso_start_url"] ?? "",
    ssoRegion: section["sso_region"] ?? "",
    ...role,
  };
}
