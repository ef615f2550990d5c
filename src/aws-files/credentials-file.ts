import { readFile } from "node:fs/promises";
import type { AwsConfig, IniSection } from "./config-read.js";
import { parseIniSections } from "./config-read.js";
import { SECTION_TYPES } from "./ini-syntax.js";

/**
 * The profiles of `~/.aws/credentials` laid over those of `~/.aws/config`, key by key, as
 * botocore's `full_config` and the JS SDK's `parseKnownFiles` see them: a `role_arn`, a
 * `source_profile` or static keys may sit in either file, and role chains are resolved over
 * both. sso-docker never uses a static key; it only needs to know one is there, to refuse it.
 */
export async function withCredentialsFile(config: AwsConfig, credentialsFile: string): Promise<AwsConfig> {
  let text: string;
  try {
    text = await readFile(credentialsFile, "utf8");
  } catch {
    // Missing or unreadable: the SDKs then resolve from the config file alone, and so do we.
    return config;
  }
  const profiles = Object.assign(Object.create(null) as Record<string, IniSection>, config.profiles);
  for (const [name, section] of Object.entries(parseIniSections(text))) {
    // Sections are bare profile names here; a `[profile x]` header names no profile botocore looks up.
    if (SECTION_TYPES.some((type) => name.startsWith(`${type}.`))) continue;
    profiles[name] = { ...(Object.hasOwn(profiles, name) ? profiles[name] : {}), ...section };
  }
  return { ...config, profiles };
}
