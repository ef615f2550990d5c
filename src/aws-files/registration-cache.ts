import { join } from "node:path";
import { CacheFileError } from "../runtime/errors.js";
import { errnoCode, readJsonFile, withCacheLock, writeFileAtomically } from "./cache-files.js";
import { pythonJsonDumps } from "./python-json.js";
import { isoSeconds, parseTimestamp } from "../runtime/time-format.js";
import { sha1Hex } from "./token-cache.js";

/** An OIDC client registration, as the AWS CLI ≥ 2.7.32 caches it beside the tokens. */
export interface ClientRegistration {
  clientId: string;
  clientSecret: string;
  /** Epoch ms (the file holds "YYYY-MM-DDTHH:MM:SSZ"). */
  expiresAt: number;
  scopes?: string[] | undefined;
  /** Present since the CLI's PKCE flow; absent means a device-code registration. */
  grantTypes?: string[] | undefined;
}

/** What botocore keys a registration on. */
export interface RegistrationCacheOwner {
  startUrl: string;
  /** The SSO region. */
  region: string;
  /** Undefined for legacy profiles (the CLI passes None). */
  sessionName?: string | undefined;
  /**
   * `sso_registration_scopes` as configured, undefined when unset (the CLI passes None, not
   * its default scope): a different value names a different file than `aws sso login` uses.
   */
  scopes?: readonly string[] | undefined;
}

/**
 * The text botocore hashes (`BaseSSOTokenFetcher._registration_cache_key`):
 * `json.dumps({tool, startUrl, region, scopes, session_name}, sort_keys=True)`, with null
 * for an absent session name or scopes.
 */
export function registrationCacheKeyText(owner: RegistrationCacheOwner): string {
  return pythonJsonDumps(
    {
      tool: "botocore",
      startUrl: owner.startUrl,
      region: owner.region,
      scopes: owner.scopes ?? null,
      session_name: owner.sessionName ?? null,
    },
    { sortKeys: true },
  );
}

export function registrationCachePath(cacheDir: string, owner: RegistrationCacheOwner): string {
  return join(cacheDir, `${sha1Hex(registrationCacheKeyText(owner))}.json`);
}

/** What the AWS CLI writes: clientId, clientSecret, expiresAt, then scopes and grantTypes when set. */
export function serializeRegistration(registration: ClientRegistration): string {
  return pythonJsonDumps({
    clientId: registration.clientId,
    clientSecret: registration.clientSecret,
    expiresAt: isoSeconds(registration.expiresAt),
    // The device flow stores scopes only when there are some (`if scopes:`).
    scopes: registration.scopes?.length ? registration.scopes : undefined,
    grantTypes: registration.grantTypes,
  });
}

function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === "string") ? value : undefined;
}

export function parseRegistration(value: unknown): ClientRegistration | { problem: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { problem: "is not a JSON object" };
  const record = value as Record<string, unknown>;
  for (const field of ["clientId", "clientSecret", "expiresAt"]) {
    if (typeof record[field] !== "string" || record[field] === "") return { problem: `has no ${field}` };
  }
  const expiresAt = parseTimestamp(record["expiresAt"] as string);
  if (expiresAt === undefined) return { problem: "has an unreadable expiresAt" };
  const scopes = stringArray(record["scopes"]);
  const grantTypes = stringArray(record["grantTypes"]);
  return {
    clientId: record["clientId"] as string,
    clientSecret: record["clientSecret"] as string,
    expiresAt,
    ...(scopes ? { scopes } : {}),
    ...(grantTypes ? { grantTypes } : {}),
  };
}

/** The cached registration, undefined when absent; a damaged file is reported, not touched. */
export async function readRegistration(
  path: string,
  options: { profileName?: string } = {},
): Promise<ClientRegistration | undefined> {
  const contents = await readJsonFile(path);
  if (contents.kind === "missing") return undefined;
  const parsed = contents.kind === "json" ? parseRegistration(contents.value) : { problem: contents.problem };
  if ("problem" in parsed) {
    const login =
      options.profileName === undefined
        ? "sso-docker login"
        : `sso-docker login --profile ${options.profileName}`;
    // Login itself reads this file, so the way out starts with removing it.
    throw new CacheFileError(`The client registration cache file ${path} ${parsed.problem}.`, {
      hint: `Remove it and sign in again: rm ${path} && ${login}`,
    });
  }
  return parsed;
}

/** Writes the registration atomically, mode 0600, under the file's lock. */
export async function writeRegistration(path: string, registration: ClientRegistration): Promise<void> {
  const text = serializeRegistration(registration);
  await withCacheLock(path, () => writeFileAtomically(path, text, 0o600)).catch((err: unknown) => {
    if (err instanceof CacheFileError) throw err;
    throw new CacheFileError(`Cannot write the client registration cache file ${path} (${errnoCode(err)}).`, {
      hint: `Check the directory's owner and mode: ls -ld ${join(path, "..")}`,
      cause: err,
    });
  });
}
