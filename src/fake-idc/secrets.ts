import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";

/** Opaque random values shaped roughly like the real ones, so logs and caches look familiar. */

export function randomToken(prefix: string, bytes = 32): string {
  return prefix + randomBytes(bytes).toString("base64url");
}

/** Real user codes are eight letters from an unambiguous alphabet, shown as ABCD-EFGH. */
export function randomUserCode(): string {
  const alphabet = "BCDFGHJKLMNPQRSTVWXZ";
  let code = "";
  for (let i = 0; i < 8; i++) code += alphabet[randomInt(alphabet.length)] ?? "B";
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** How users may type a user code: any case, dash optional. */
export function normalizeUserCode(userCode: string): string {
  return userCode.toUpperCase().replace(/[^A-Z0-9]/g, "");
}

export function randomAccessKeyId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let id = "ASIA";
  for (let i = 0; i < 16; i++) id += alphabet[randomInt(alphabet.length)] ?? "A";
  return id;
}

export function sha256(data: string | Buffer): Buffer {
  return createHash("sha256").update(data).digest();
}

/** Constant-time string comparison; hashing first makes the lengths equal. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** RFC 7636 S256: base64url(sha256(verifier)) without padding. */
export function pkceChallenge(verifier: string): string {
  return sha256(verifier).toString("base64url");
}
