import { createHmac, timingSafeEqual } from "node:crypto";
import { header, type FakeRequest } from "./http.js";
import { sha256 } from "./secrets.js";

/**
 * Server-side AWS Signature Version 4 check (header auth), so the fake proves that a client signs
 * with the secret it was given. Follows docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html.
 */

const ALGORITHM = "AWS4-HMAC-SHA256";

export interface SigV4Authorization {
  accessKeyId: string;
  /** YYYYMMDD, from the credential scope. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=…` */
export function parseAuthorization(value: string): SigV4Authorization | undefined {
  if (!value.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const scope = (fields.get("Credential") ?? "").split("/");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  const [accessKeyId, date, region, service, terminator] = scope;
  if (scope.length !== 5 || terminator !== "aws4_request" || !accessKeyId || !date || !region || !service) {
    return undefined;
  }
  if (!signedHeaders || !signature || !/^[0-9a-f]{64}$/.test(signature)) return undefined;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(";"), signature };
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Non-S3 services encode the wire path once more after removing empty, "." and ".." segments. */
function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith("/") ? "/" : "";
  return uriEncode(`/${segments.join("/")}${trailing}`).replace(/%2F/g, "/");
}

function canonicalQuery(rawQuery: string): string {
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = safeDecode(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? "" : safeDecode(part.slice(eq + 1));
    if (key !== "X-Amz-Signature") pairs.push([uriEncode(key), uriEncode(value)]);
  }
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

function canonicalHeaders(req: FakeRequest, signedHeaders: readonly string[]): string | undefined {
  let text = "";
  for (const name of signedHeaders) {
    const values = req.headers.get(name);
    if (!values) return undefined;
    text += `${name}:${values.map((v) => v.trim().replace(/\s+/g, " ")).join(",")}\n`;
  }
  return text;
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Rebuilds the string to sign from the request as received and compares signatures in constant time. */
export function verifySigV4(req: FakeRequest, auth: SigV4Authorization, secret: string): VerifyResult {
  const amzDate = header(req, "x-amz-date");
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate))
    return { ok: false, reason: "missing or malformed X-Amz-Date" };
  if (!amzDate.startsWith(auth.date))
    return { ok: false, reason: "credential scope date differs from X-Amz-Date" };
  if (!auth.signedHeaders.includes("host")) return { ok: false, reason: "host is not a signed header" };
  const headers = canonicalHeaders(req, auth.signedHeaders);
  if (headers === undefined) return { ok: false, reason: "a signed header is missing from the request" };

  const bodyHash = sha256(req.body).toString("hex");
  const declared = header(req, "x-amz-content-sha256");
  if (declared !== undefined && declared !== "UNSIGNED-PAYLOAD" && declared !== bodyHash) {
    return { ok: false, reason: "x-amz-content-sha256 does not match the body" };
  }
  const canonical = [
    req.method,
    canonicalUri(req.path),
    canonicalQuery(req.rawQuery),
    headers,
    auth.signedHeaders.join(";"),
    declared ?? bodyHash,
  ].join("\n");
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const toSign = [ALGORITHM, amzDate, scope, sha256(canonical).toString("hex")].join("\n");
  const key = signingKey(secret, auth.date, auth.region, auth.service);
  const expected = createHmac("sha256", key).update(toSign).digest();
  const given = Buffer.from(auth.signature, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? { ok: true }
    : { ok: false, reason: "signature mismatch" };
}
