import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomically } from "../aws-files/cache-files.js";
import { pythonJsonDumps } from "../aws-files/python-json.js";
import type { AssumeRoleStep } from "../aws-files/role-chain.js";
import { isoSecondsWithOffset } from "../runtime/time-format.js";
import { credentialsOfCacheEntry } from "./cli-credential-cache.js";
import type { RoleCredentials } from "./role-credentials.js";

/**
 * The AWS CLI's cache of AssumeRole results, `~/.aws/cli/cache/<sha1>.json`, shared both ways:
 * an entry `aws` wrote for the same AssumeRole request serves sso-docker and the reverse.
 */

/** AssumeRole's answer beyond the credentials: who they are. */
export interface AssumedRoleCredentials extends RoleCredentials {
  /** `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
  assumedRoleArn?: string;
  assumedRoleId?: string;
}

/**
 * botocore's BaseAssumeRoleCredentialFetcher._create_cache_key: sha1 of json.dumps(args,
 * sort_keys=True) with the default separators (", ", ": "; unlike the SSO key), where args are
 * the AssumeRole parameters the profile sets: RoleArn, RoleSessionName only when configured
 * (a generated one is left out), ExternalId, SerialNumber (refused before this), and
 * DurationSeconds as an integer. The source profile is not part of it, in botocore either.
 */
export function assumeRoleCacheKey(step: AssumeRoleStep): string {
  const args = {
    RoleArn: step.roleArn,
    RoleSessionName: step.roleSessionName,
    ExternalId: step.externalId,
    DurationSeconds: step.durationSeconds,
  };
  return createHash("sha1")
    .update(pythonJsonDumps(args, { sortKeys: true }), "utf8")
    .digest("hex");
}

function cachePath(cliCacheDir: string, step: AssumeRoleStep): string {
  return join(cliCacheDir, `${assumeRoleCacheKey(step)}.json`);
}

export async function readAssumeRoleCache(
  cliCacheDir: string,
  step: AssumeRoleStep,
): Promise<AssumedRoleCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(cachePath(cliCacheDir, step), "utf8");
  } catch {
    return undefined;
  }
  // A corrupt entry is only a cache miss: the next AssumeRole overwrites it, as the AWS CLI does.
  try {
    const parsed = JSON.parse(text) as {
      Credentials?: Record<string, unknown>;
      AssumedRoleUser?: Record<string, unknown>;
    };
    const credentials = credentialsOfCacheEntry(parsed.Credentials);
    if (!credentials) return undefined;
    const { Arn, AssumedRoleId } = parsed.AssumedRoleUser ?? {};
    return {
      ...credentials,
      ...(typeof Arn === "string" ? { assumedRoleArn: Arn } : {}),
      ...(typeof AssumedRoleId === "string" ? { assumedRoleId: AssumedRoleId } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Writes what the AWS CLI v2 writes for the same call (its JSONFileCache: json.dumps of the
 * AssumeRole response, default separators, mode 0600), less the HTTP ResponseMetadata, plus
 * the AccountId newer CLIs add.
 */
export async function writeAssumeRoleCache(
  cliCacheDir: string,
  step: AssumeRoleStep,
  credentials: AssumedRoleCredentials,
): Promise<void> {
  const body = pythonJsonDumps({
    Credentials: {
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      SessionToken: credentials.sessionToken,
      Expiration: isoSecondsWithOffset(credentials.expiration),
      AccountId: step.accountId,
    },
    ...(credentials.assumedRoleArn === undefined
      ? {}
      : {
          AssumedRoleUser: {
            AssumedRoleId: credentials.assumedRoleId,
            Arn: credentials.assumedRoleArn,
          },
        }),
  });
  await writeFileAtomically(cachePath(cliCacheDir, step), body, 0o600);
}

/** Removes an entry STS has refused (expired or unknown there, though not by its Expiration). */
export async function removeAssumeRoleCache(cliCacheDir: string, step: AssumeRoleStep): Promise<void> {
  await rm(cachePath(cliCacheDir, step), { force: true });
}
