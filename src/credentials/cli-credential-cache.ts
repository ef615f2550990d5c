import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomically } from "../aws-files/cache-files.js";
import { pythonJsonDumps } from "../aws-files/python-json.js";
import { isoSeconds, parseTimestamp } from "../runtime/time-format.js";
import type { RoleCredentials, RoleIdentity } from "./role-credentials.js";

/**
 * The AWS CLI's own role-credential cache (`~/.aws/cli/cache/<sha1>.json`, ProviderType
 * "sso"), shared both ways: what `aws` fetched serves `sso-docker credentials` and the
 * reverse. It is the one place on disk role credentials may live (mode 0600).
 */
export function cliCacheKey(identity: RoleIdentity): string {
  // botocore SSOCredentialFetcher._create_cache_key: json.dumps(sort_keys, separators=(',',':')).
  const args: Record<string, string> =
    identity.sessionName === undefined
      ? { accountId: identity.accountId, roleName: identity.roleName, startUrl: identity.startUrl }
      : { accountId: identity.accountId, roleName: identity.roleName, sessionName: identity.sessionName };
  const json = pythonJsonDumps(args, { sortKeys: true, compact: true });
  return createHash("sha1").update(json, "utf8").digest("hex");
}

/**
 * The `Credentials` object of an AWS CLI cache entry (SSO or AssumeRole: the same four fields),
 * or undefined when it is not a whole one: a corrupt entry is only a cache miss.
 */
export function credentialsOfCacheEntry(c: Record<string, unknown> | undefined): RoleCredentials | undefined {
  if (!c) return undefined;
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = c;
  if (
    typeof AccessKeyId !== "string" ||
    typeof SecretAccessKey !== "string" ||
    typeof SessionToken !== "string" ||
    typeof Expiration !== "string"
  ) {
    return undefined;
  }
  const expiration = parseTimestamp(Expiration);
  if (expiration === undefined) return undefined;
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: SessionToken,
    expiration,
  };
}

export async function readCliCachedCredentials(
  cliCacheDir: string,
  identity: RoleIdentity,
): Promise<RoleCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(join(cliCacheDir, `${cliCacheKey(identity)}.json`), "utf8");
  } catch {
    return undefined;
  }
  // A corrupt entry is only a cache miss: the next fetch overwrites it, as the AWS CLI does.
  try {
    const parsed = JSON.parse(text) as { ProviderType?: unknown; Credentials?: Record<string, unknown> };
    return parsed.ProviderType === "sso" ? credentialsOfCacheEntry(parsed.Credentials) : undefined;
  } catch {
    return undefined;
  }
}

export async function writeCliCachedCredentials(
  cliCacheDir: string,
  identity: RoleIdentity,
  credentials: RoleCredentials,
): Promise<void> {
  // Same bytes as botocore's JSONFileCache (json.dumps with default separators).
  const body = `{"ProviderType": "sso", "Credentials": {"AccessKeyId": ${JSON.stringify(credentials.accessKeyId)}, "SecretAccessKey": ${JSON.stringify(credentials.secretAccessKey)}, "SessionToken": ${JSON.stringify(credentials.sessionToken)}, "Expiration": "${isoSeconds(credentials.expiration)}"}}`;
  await writeFileAtomically(join(cliCacheDir, `${cliCacheKey(identity)}.json`), body, 0o600);
}

/** Removes an entry IAM Identity Center's credentials were refused with (expired or unknown at STS). */
export async function removeCliCachedCredentials(cliCacheDir: string, identity: RoleIdentity): Promise<void> {
  await rm(join(cliCacheDir, `${cliCacheKey(identity)}.json`), { force: true });
}
