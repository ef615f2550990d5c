import { ConfigError, ProfileError } from "../runtime/errors.js";
import type { AwsConfig, IniSection } from "./config-read.js";
import { lookupSection } from "./config-read.js";

/**
 * `role_arn` + `source_profile` chains, resolved the way the AWS CLI v2 resolves them
 * (botocore's AssumeRoleProvider): a profile with `role_arn` (and no `web_identity_token_file`)
 * is assumed from its `source_profile`; a source profile that has `role_arn` and no static keys
 * is itself assumed from its own source, and so on; the first source profile without (or with
 * static keys beside) `role_arn` supplies the chain's first credentials, the way botocore's
 * profile providers would: web identity, then IAM Identity Center, then static keys, then
 * `aws login`, then `credential_process`. sso-docker serves only chains whose first credentials
 * come from IAM Identity Center; every other root is refused with the reason.
 */

/** One AssumeRole: the role of `profileName`, with that profile's settings. */
export interface AssumeRoleStep {
  profileName: string;
  roleArn: string;
  /** The role's account and name, from the ARN. */
  accountId: string;
  roleName: string;
  /** `role_session_name`; when absent a name is generated per call and kept out of the cache key. */
  roleSessionName?: string;
  externalId?: string;
  durationSeconds?: number;
}

export interface RoleChain {
  /** The profile whose IAM Identity Center role credentials make the first AssumeRole. */
  sourceProfile: string;
  /** In the order they are assumed; the last one is the named profile's own role. */
  steps: readonly AssumeRoleStep[];
}

/** What botocore's providers would take from a profile that does not assume a role (or has static keys beside). */
const NOT_SSO_SOURCES: readonly { keys: readonly string[]; what: string }[] = [
  { keys: ["aws_access_key_id", "aws_secret_access_key"], what: "static keys" },
  { keys: ["login_session"], what: "an `aws login` session" },
  { keys: ["credential_process"], what: "a credential_process" },
];

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

function assumesRole(section: IniSection): boolean {
  return section["role_arn"] !== undefined && section["web_identity_token_file"] === undefined;
}

function hasStaticKeys(section: IniSection): boolean {
  return section["aws_access_key_id"] !== undefined || section["aws_secret_access_key"] !== undefined;
}

/** botocore's SSOProvider answers for a profile that names its account or role. */
export function isSsoRoleSection(section: IniSection): boolean {
  return section["sso_account_id"] !== undefined || section["sso_role_name"] !== undefined;
}

interface Context {
  config: AwsConfig;
  /** The profile the user named. */
  named: string;
  configFile: string;
  /** Profiles visited so far, the named one first. */
  visited: string[];
}

function path(ctx: Context, next?: string): string {
  return [...ctx.visited, ...(next === undefined ? [] : [next])].join(" → ");
}

/** " (in the chain of profile "app")" when the profile is not the one the user named. */
function inChain(ctx: Context, profileName: string): string {
  return profileName === ctx.named ? "" : ` (in the chain of profile "${ctx.named}")`;
}

function editHint(ctx: Context, profileName: string, what: string): string {
  return `Edit ${what} in [profile ${profileName}] of ${ctx.configFile}`;
}

function parseStep(ctx: Context, profileName: string, section: IniSection): AssumeRoleStep {
  const where = `Profile "${profileName}"${inChain(ctx, profileName)} in ${ctx.configFile}`;
  const roleArn = section["role_arn"] ?? "";
  const arn = ROLE_ARN.exec(roleArn);
  if (!arn) {
    throw new ConfigError(
      `${where} sets role_arn to ${JSON.stringify(roleArn)}, which is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME).`,
      { hint: editHint(ctx, profileName, "role_arn") },
    );
  }
  const step: AssumeRoleStep = { profileName, roleArn, accountId: arn[1] ?? "", roleName: arn[2] ?? "" };

  const sessionName = section["role_session_name"];
  if (sessionName !== undefined) {
    if (!SESSION_NAME.test(sessionName)) {
      throw new ConfigError(
        `${where} sets role_session_name to ${JSON.stringify(sessionName)}; STS takes 2 to 64 letters, digits and + = , . @ _ -.`,
        { hint: editHint(ctx, profileName, "role_session_name") },
      );
    }
    step.roleSessionName = sessionName;
  }
  const externalId = section["external_id"];
  if (externalId !== undefined) {
    if (!EXTERNAL_ID.test(externalId)) {
      throw new ConfigError(
        `${where} sets external_id to a value STS refuses; it takes 2 to 1224 letters, digits and + = , . @ : / _ -.`,
        { hint: editHint(ctx, profileName, "external_id") },
      );
    }
    step.externalId = externalId;
  }
  const duration = section["duration_seconds"];
  if (duration !== undefined) {
    // botocore silently drops a value int() cannot read; a typo such as "1h" deserves a word instead.
    const seconds = /^[+-]?\d+$/.test(duration) ? Number(duration) : NaN;
    if (!(seconds >= 900 && seconds <= 43200)) {
      throw new ConfigError(
        `${where} sets duration_seconds to ${JSON.stringify(duration)}; it must be a whole number of seconds from 900 to 43200.`,
        { hint: editHint(ctx, profileName, "duration_seconds") },
      );
    }
    step.durationSeconds = seconds;
  }
  if (section["mfa_serial"] !== undefined) {
    throw new ProfileError(
      `${where} sets mfa_serial; sso-docker cannot ask for MFA codes (the IAM Identity Center sign-in does MFA).`,
      { hint: editHint(ctx, profileName, "mfa_serial (remove it)") },
    );
  }
  return step;
}

/** The name of the profile this role is assumed from, checked as botocore's `_get_role_config` does. */
function sourceOf(ctx: Context, profileName: string, section: IniSection): string {
  const where = `Profile "${profileName}"${inChain(ctx, profileName)} in ${ctx.configFile}`;
  const credentialSource = section["credential_source"];
  if (credentialSource !== undefined) {
    throw new ProfileError(
      `${where} assumes its role with credential_source = ${credentialSource}; sso-docker serves only role chains that start at an IAM Identity Center profile.`,
      { hint: `${editHint(ctx, profileName, "credential_source")}: source_profile = an SSO profile instead` },
    );
  }
  const source = section["source_profile"];
  if (source === undefined) {
    throw new ProfileError(`${where} sets role_arn but no source_profile to assume it with.`, {
      hint: `${editHint(ctx, profileName, "role_arn")}: add source_profile = an SSO profile`,
    });
  }
  const sourceSection = lookupSection(ctx.config.profiles, source);
  if (!sourceSection) {
    throw new ProfileError(`${where} names source_profile "${source}", which is not in ${ctx.configFile}.`, {
      hint: `sso-docker configure --profile ${source}`,
    });
  }
  // A profile may name itself only to take static keys from its own section; anything else seen before is a loop.
  if (ctx.visited.includes(source) && (source !== profileName || !hasStaticKeys(sourceSection))) {
    throw new ProfileError(`Profile "${ctx.named}" has a loop in source_profile: ${path(ctx, source)}.`, {
      hint: editHint(ctx, profileName, "source_profile"),
    });
  }
  return source;
}

/** Refuses a chain whose first credentials would not come from IAM Identity Center. */
function assertSsoRoot(ctx: Context, profileName: string, section: IniSection): void {
  const start = `Profile "${ctx.named}" starts its role chain (${path(ctx)}) at profile "${profileName}"`;
  const serves = "sso-docker serves only chains that start at IAM Identity Center";
  const hint = `sso-docker configure --profile ${profileName}`;
  // botocore's web-identity provider comes first, and needs role_arn beside the token file.
  if (section["web_identity_token_file"] !== undefined && section["role_arn"] !== undefined) {
    throw new ProfileError(`${start}, which uses web_identity_token_file; ${serves}.`, { hint });
  }
  if (isSsoRoleSection(section)) return;
  const other = NOT_SSO_SOURCES.find(({ keys }) => keys.some((key) => section[key] !== undefined));
  const why = other
    ? `which uses ${other.what} (${other.keys.filter((key) => section[key] !== undefined).join(", ")})`
    : "which has no IAM Identity Center role (sso_account_id, sso_role_name)";
  throw new ProfileError(`${start}, ${why}; ${serves}.`, { hint });
}

/**
 * The chain behind `profileName`, or undefined when it assumes no role. `config` should hold
 * the credentials file's profiles too (withCredentialsFile). Throws ProfileError / ConfigError
 * naming the profile, the reason and the next step.
 */
export function resolveRoleChain(
  config: AwsConfig,
  profileName: string,
  configFile: string,
): RoleChain | undefined {
  const top = lookupSection(config.profiles, profileName);
  if (!top || top["role_arn"] === undefined) return undefined;
  const ctx: Context = { config, named: profileName, configFile, visited: [profileName] };
  if (!assumesRole(top)) {
    throw new ProfileError(
      `Profile "${profileName}" in ${configFile} assumes its role with web_identity_token_file; sso-docker serves only role chains that start at an IAM Identity Center profile.`,
      {
        hint: `${editHint(ctx, profileName, "web_identity_token_file")}: source_profile = an SSO profile instead`,
      },
    );
  }
  const steps: AssumeRoleStep[] = [];
  let current = profileName;
  let section = top;
  for (;;) {
    steps.unshift(parseStep(ctx, current, section));
    const source = sourceOf(ctx, current, section);
    ctx.visited.push(source);
    const sourceSection = lookupSection(config.profiles, source) ?? {};
    if (hasStaticKeys(sourceSection) || !assumesRole(sourceSection)) {
      assertSsoRoot(ctx, source, sourceSection);
      return { sourceProfile: source, steps };
    }
    current = source;
    section = sourceSection;
  }
}
