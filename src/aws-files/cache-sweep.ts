import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { CacheFileError } from "../runtime/errors.js";
import { errnoCode, readJsonFile, withCacheLock } from "./cache-files.js";

/**
 * What `aws sso logout` removes: token files in ~/.aws/sso/cache (client registrations
 * stay) and role credentials in ~/.aws/cli/cache that came from SSO.
 */

export interface CachedTokenFile {
  path: string;
  accessToken: string;
  region?: string;
  startUrl?: string;
}

async function jsonFilesIn(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
      .map((entry) => join(dir, entry.name))
      .sort();
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw new CacheFileError(`Cannot list ${dir} (${errnoCode(err)}).`, {
      hint: `Check: ls -ld ${dir}`,
      cause: err,
    });
  }
}

async function readObject(path: string): Promise<Record<string, unknown> | undefined> {
  const contents = await readJsonFile(path);
  if (contents.kind !== "json") return undefined;
  const value = contents.value;
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function asTokenFile(path: string, record: Record<string, unknown> | undefined): CachedTokenFile | undefined {
  // The CLI's SSOTokenSweeper test: an access token is what makes a file a token file.
  const accessToken = record?.["accessToken"];
  if (typeof accessToken !== "string") return undefined;
  const region = record?.["region"];
  const startUrl = record?.["startUrl"];
  return {
    path,
    accessToken,
    ...(typeof region === "string" ? { region } : {}),
    ...(typeof startUrl === "string" ? { startUrl } : {}),
  };
}

/** Token files in the SSO cache; unreadable or non-token JSON files are skipped, as the CLI does. */
export async function listSsoTokenFiles(cacheDir: string): Promise<CachedTokenFile[]> {
  const files: CachedTokenFile[] = [];
  for (const path of await jsonFilesIn(cacheDir)) {
    const file = asTokenFile(path, await readObject(path));
    if (file) files.push(file);
  }
  return files;
}

async function removeIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw new CacheFileError(`Cannot delete ${path} (${errnoCode(err)}).`, {
      hint: `Remove it by hand: rm ${path}`,
      cause: err,
    });
  }
}

/**
 * Deletes every SSO token file, each under its lock so a concurrent refresh cannot write it
 * back. `beforeDelete` (the Logout API call) sees the token first. Returns deleted paths.
 */
export async function deleteSsoTokens(
  cacheDir: string,
  options: { beforeDelete?: (file: CachedTokenFile) => Promise<void> } = {},
): Promise<string[]> {
  const deleted: string[] = [];
  for (const { path } of await listSsoTokenFiles(cacheDir)) {
    await withCacheLock(path, async () => {
      const file = asTokenFile(path, await readObject(path));
      if (!file) return;
      await options.beforeDelete?.(file);
      if (await removeIfPresent(path)) deleted.push(path);
    });
  }
  return deleted;
}

/** Deletes the AWS CLI's cached role credentials whose ProviderType is "sso". Returns deleted paths. */
export async function deleteCliCredentialCache(cliCacheDir: string): Promise<string[]> {
  const deleted: string[] = [];
  for (const path of await jsonFilesIn(cliCacheDir)) {
    const record = await readObject(path);
    if (record?.["ProviderType"] === "sso" && (await removeIfPresent(path))) deleted.push(path);
  }
  return deleted;
}
