import { createHash } from "node:crypto";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { CacheFileError } from "../runtime/errors.js";
import { errnoCode, readJsonFile, withCacheLock, writeFileAtomically } from "./cache-files.js";
import { pythonJsonDumps } from "./python-json.js";
import { isoSeconds, parseTimestamp } from "../runtime/time-format.js";

export { withCacheLock } from "./cache-files.js";

/** `~/.aws/sso/cache/<sha1>.json` as the AWS CLI v2 writes it, fields in its order. */
export interface SsoToken {
  startUrl: string;
  region: string;
  accessToken: string;
  /** "YYYY-MM-DDTHH:MM:SSZ" on write; read also with milliseconds or a "UTC" suffix. */
  expiresAt: string;
  clientId?: string;
  clientSecret?: string;
  registrationExpiresAt?: string;
  refreshToken?: string;
}

/** Who a token belongs to: an sso-session by name, or a legacy profile by start URL. */
export interface TokenCacheOwner {
  sessionName?: string | undefined;
  startUrl: string;
}

export function sha1Hex(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

/** botocore `SSOTokenLoader._generate_cache_key`: the session name if there is one, else the start URL. */
export function tokenCachePath(cacheDir: string, owner: TokenCacheOwner): string {
  return join(cacheDir, `${sha1Hex(owner.sessionName ?? owner.startUrl)}.json`);
}

/** Signed in, as far as the files tell: a sign-out (`sso-docker logout`, `aws sso logout`) deletes the token file. */
export async function hasTokenFile(cacheDir: string, owner: TokenCacheOwner): Promise<boolean> {
  try {
    await access(tokenCachePath(cacheDir, owner));
    return true;
  } catch {
    return false;
  }
}

function normalizeTimestamp(value: string, field: string): string {
  const epoch = parseTimestamp(value);
  if (epoch === undefined) throw new TypeError(`SsoToken.${field} is not a timestamp`);
  return isoSeconds(epoch);
}

/** Exactly what `aws sso login` writes: Python json.dumps of the token dict, one line. */
export function serializeSsoToken(token: SsoToken): string {
  return pythonJsonDumps({
    startUrl: token.startUrl,
    region: token.region,
    accessToken: token.accessToken,
    expiresAt: normalizeTimestamp(token.expiresAt, "expiresAt"),
    clientId: token.clientId,
    clientSecret: token.clientSecret,
    registrationExpiresAt:
      token.registrationExpiresAt === undefined
        ? undefined
        : normalizeTimestamp(token.registrationExpiresAt, "registrationExpiresAt"),
    refreshToken: token.refreshToken,
  });
}

const OPTIONAL_FIELDS = ["clientId", "clientSecret", "registrationExpiresAt", "refreshToken"] as const;

/** The token in a parsed cache file, or what is wrong with it (never quoting its values). */
export function parseSsoToken(value: unknown): SsoToken | { problem: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { problem: "is not a JSON object" };
  const record = value as Record<string, unknown>;
  for (const field of ["startUrl", "region", "accessToken", "expiresAt"]) {
    if (typeof record[field] !== "string" || record[field] === "") return { problem: `has no ${field}` };
  }
  const expiresAt = record["expiresAt"] as string;
  if (parseTimestamp(expiresAt) === undefined) return { problem: "has an unreadable expiresAt" };
  const token: SsoToken = {
    startUrl: record["startUrl"] as string,
    region: record["region"] as string,
    accessToken: record["accessToken"] as string,
    expiresAt,
  };
  // Optional fields of another type are treated as absent, as the SDKs' truthiness checks do.
  for (const field of OPTIONAL_FIELDS) {
    const optional = record[field];
    if (typeof optional === "string" && optional !== "") token[field] = optional;
  }
  return token;
}

/**
 * The cached token, or undefined when there is none. A damaged file is reported, never
 * deleted or rewritten here: `profileName` goes into the hint to log in again.
 */
export async function readSsoToken(
  path: string,
  options: { profileName?: string } = {},
): Promise<SsoToken | undefined> {
  const contents = await readJsonFile(path);
  if (contents.kind === "missing") return undefined;
  const parsed = contents.kind === "json" ? parseSsoToken(contents.value) : { problem: contents.problem };
  if ("problem" in parsed) {
    const login =
      options.profileName === undefined
        ? "sso-docker login"
        : `sso-docker login --profile ${options.profileName}`;
    throw new CacheFileError(`The SSO token cache file ${path} ${parsed.problem}.`, {
      hint: `Sign in again to replace it: ${login}`,
    });
  }
  return parsed;
}

/** Writes the token atomically, mode 0600 (directory 0700), under the file's lock. */
export async function writeSsoToken(path: string, token: SsoToken): Promise<void> {
  const text = serializeSsoToken(token);
  await withCacheLock(path, () => writeFileAtomically(path, text, 0o600)).catch((err: unknown) => {
    if (err instanceof CacheFileError) throw err;
    throw new CacheFileError(`Cannot write the SSO token cache file ${path} (${errnoCode(err)}).`, {
      hint: `Check the directory's owner and mode: ls -ld ${join(path, "..")}`,
      cause: err,
    });
  });
}
