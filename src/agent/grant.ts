import { createHmac, timingSafeEqual } from "node:crypto";
import { parseProfileList, PROFILES_LABEL } from "./participation.js";

/**
 * Which containers a host user's sso-docker supplies, on an engine others use too. A grant is
 * `<owner>.<mac>`: the owner id says whose it is, the MAC (keyed with the user's grant key)
 * binds it to one ordered profile list. It is no secret (it sits in `docker inspect`): copied
 * onto another container it grants that container exactly the same profiles — what any engine
 * user could already take by `docker exec` into the original — and no other list.
 */

/** `--label sso-docker.grant=G`, beside `sso-docker.profiles`. */
export const GRANT_LABEL = "sso-docker.grant";
/** `SSO_DOCKER_GRANT=G` in the container's config, beside `SSO_DOCKER_PROFILES`. */
export const GRANT_ENV = "SSO_DOCKER_GRANT";

const OWNER_CHARS = 16;

function hmac(key: Buffer, text: string): Buffer {
  return createHmac("sha256", key).update(text, "utf8").digest();
}

/** This user's id: the first 16 hex characters of an HMAC of a fixed text. */
export function ownerIdOf(key: Buffer): string {
  return hmac(key, "sso-docker owner v1").toString("hex").slice(0, OWNER_CHARS);
}

/** The list as the agent reads it from a label: trimmed, no empties or repeats, order kept. */
function canonical(profiles: readonly string[]): string[] {
  return parseProfileList(profiles.join(","));
}

function macOf(key: Buffer, owner: string, profiles: readonly string[]): Buffer {
  return hmac(key, `sso-docker grant v1\n${owner}\n${canonical(profiles).join(",")}`);
}

/** The grant for exactly this ordered profile list (the first is the container's default). */
export function grantFor(key: Buffer, profiles: readonly string[]): string {
  const owner = ownerIdOf(key);
  return `${owner}.${macOf(key, owner, profiles).toString("base64url")}`;
}

/** The `docker run` options that make a container take part with these profiles. */
export function grantArgs(key: Buffer, profiles: readonly string[]): string[] {
  return [
    "--label",
    `${PROFILES_LABEL}=${canonical(profiles).join(",")}`,
    "--label",
    `${GRANT_LABEL}=${grantFor(key, profiles)}`,
  ];
}

export type GrantVerdict =
  | { ok: true }
  /** No grant at all: nobody bound the container to a user. */
  | { ok: false; why: "missing" }
  /** Another user's (or another key's) grant: theirs to supply. */
  | { ok: false; why: "other-owner"; owner: string }
  /** This user's id, but not for this profile list: edited, truncated or copied onto other profiles. */
  | { ok: false; why: "mismatch" };

/** Whether `grant` is this key's grant for exactly `profiles`; constant-time on the MAC. */
export function verifyGrant(
  key: Buffer,
  profiles: readonly string[],
  grant: string | undefined,
): GrantVerdict {
  const value = grant?.trim() ?? "";
  if (value === "") return { ok: false, why: "missing" };
  const dot = value.indexOf(".");
  const owner = dot === -1 ? value : value.slice(0, dot);
  if (owner !== ownerIdOf(key)) return { ok: false, why: "other-owner", owner };
  const given = Buffer.from(value.slice(dot + 1), "utf8");
  const expected = Buffer.from(macOf(key, owner, profiles).toString("base64url"), "utf8");
  const same = dot !== -1 && given.length === expected.length && timingSafeEqual(given, expected);
  return same ? { ok: true } : { ok: false, why: "mismatch" };
}
