import { ProfileError } from "../runtime/errors.js";
import { isoSeconds } from "../runtime/time-format.js";
import type { ContainerLayout } from "./secret-dir.js";

/** Role credentials as IAM Identity Center's GetRoleCredentials returns them. */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** The non-secret settings of one synced profile. */
export interface ProfileSettings {
  name: string;
  region?: string;
  output?: string;
}

export interface DeliveryProfile extends ProfileSettings {
  credentials: RoleCredentials;
}

// What `[profile NAME]` can hold for every SDK's parser: no whitespace, brackets, comment
// characters or quotes. Dots, `@`, `+`, `=`, `:`, `,`, `/` are fine.
const PROFILE_NAME = /^[\w.@+=:,/-]+$/;
const SETTING_VALUE = /^[\w.@+:,/-]+$/;
// Printable ASCII without spaces: anything else would break the ini line it sits on.
const SECRET_VALUE = /^[\x21-\x7e]+$/;

/** Throws unless the name is safe in an ini section header and a file name. */
export function validateProfileName(name: string): void {
  if (!PROFILE_NAME.test(name)) {
    throw new ProfileError(`Profile name "${name}" cannot be synced into a container.`, {
      hint: "Use letters, digits and . _ - @ + = : , / in profile names to sync.",
    });
  }
}

function validateSettings(profile: ProfileSettings): void {
  validateProfileName(profile.name);
  for (const [key, value] of [
    ["region", profile.region],
    ["output", profile.output],
  ] as const) {
    if (value !== undefined && !SETTING_VALUE.test(value)) {
      throw new ProfileError(`Profile "${profile.name}" has an invalid ${key} "${value}".`, {
        hint: `Fix the ${key} of [profile ${profile.name}] in ~/.aws/config.`,
      });
    }
  }
}

function validateCredentials(profile: DeliveryProfile): void {
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = profile.credentials;
  // Never echo the values: the message only names the profile.
  const ok = [accessKeyId, secretAccessKey, sessionToken].every((v) => SECRET_VALUE.test(v));
  if (!ok || Number.isNaN(expiration.getTime())) {
    throw new ProfileError(`The role credentials for profile "${profile.name}" have an unexpected format.`, {
      hint: `Run \`sso-docker login --profile ${profile.name}\` to fetch new ones.`,
    });
  }
}

/**
 * The file name for a profile's JSON: letters, digits, `_`, `-` and non-leading dots stay
 * readable; every other byte is %XX, so no name can escape the directory or collide.
 */
export function encodeProfileFileName(name: string): string {
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const ch = String.fromCharCode(byte);
    const plain = /[A-Za-z0-9_-]/.test(ch) || (ch === "." && out !== "");
    out += plain ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `${out}.json`;
}

/** The file name of a profile's status note, beside its JSON: the helper finds one from the other. */
export function noteFileName(name: string): string {
  return encodeProfileFileName(name).replace(/\.json$/, ".note");
}

/** credential_process output (Version 1), for one profile. */
export function renderCredentialProcessJson(profile: DeliveryProfile): string {
  validateCredentials(profile);
  const { credentials } = profile;
  return JSON.stringify({
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: isoSeconds(credentials.expiration.getTime()),
  });
}

/**
 * A shared-credentials file of all profiles. Hand-rendered: the `ini` package escapes dots
 * in section names (`[dev\.admin]`) and JSON-quotes values containing `=` (session tokens
 * do), and the SDKs' parsers would read both literally.
 */
export function renderCredentialsFile(profiles: readonly DeliveryProfile[]): string {
  const sections = profiles.map((profile) => {
    validateProfileName(profile.name);
    validateCredentials(profile);
    const c = profile.credentials;
    return [
      `[${profile.name}]`,
      `aws_access_key_id = ${c.accessKeyId}`,
      `aws_secret_access_key = ${c.secretAccessKey}`,
      `aws_session_token = ${c.sessionToken}`,
      `# expires ${isoSeconds(c.expiration.getTime())}`,
    ].join("\n");
  });
  return (
    "# Written by sso-docker for tools without credential_process (AWS_SHARED_CREDENTIALS_FILE).\n" +
    "# Static: SDKs read it once, so long-running clients should use the profiles in AWS_CONFIG_FILE.\n" +
    sections.join("\n\n") +
    "\n"
  );
}

/** Where the config points: the helper and the secret dir of one container layout. */
export type ConfigTarget = Pick<ContainerLayout, "helperPath" | "secret">;

/** The `credential_process` command for a profile whose JSON lives in the layout's secret dir. */
export function credentialProcessCommand(target: ConfigTarget, name: string): string {
  // The encoded file name holds no quote, so single quotes are enough for every SDK's splitter.
  return `/bin/sh ${target.helperPath} '${target.secret.dir}/${encodeProfileFileName(name)}'`;
}

/**
 * The AWS config file: one `[profile NAME]` per synced profile plus `[default]` for the
 * first, unless one of them is literally "default".
 */
export function renderAwsConfig(profiles: readonly ProfileSettings[], target: ConfigTarget): string {
  profiles.forEach(validateSettings);
  const body = (profile: ProfileSettings) =>
    [
      `credential_process = ${credentialProcessCommand(target, profile.name)}`,
      ...(profile.region === undefined ? [] : [`region = ${profile.region}`]),
      ...(profile.output === undefined ? [] : [`output = ${profile.output}`]),
    ].join("\n");
  const sections: string[] = [];
  const first = profiles[0];
  if (first !== undefined && !profiles.some((p) => p.name === "default")) {
    sections.push(`# default = profile ${first.name}\n[default]\n${body(first)}`);
  }
  for (const profile of profiles) {
    const header = profile.name === "default" ? "[default]" : `[profile ${profile.name}]`;
    sections.push(`${header}\n${body(profile)}`);
  }
  return (
    "# Written by sso-docker: profiles synced from the host. Edits are overwritten.\n" +
    sections.join("\n\n") +
    "\n"
  );
}
