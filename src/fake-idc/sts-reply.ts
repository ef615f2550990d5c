import { STS_XMLNS, xmlEscape } from "./errors.js";
import { header, jsonReply, requestId, type FakeRequest, type Reply } from "./http.js";
import type { RoleCredentialRecord } from "./role-credentials.js";
import { sha256 } from "./secrets.js";

/** What every STS action shares: its parameters as sent, who signed, and the success reply's shape. */

export const STS_JSON_TARGET_PREFIX = "AWSSecurityTokenServiceV20110615.";

/** awsJson 1.0 (X-Amz-Target) rather than awsQuery (form POST to "/"). */
export function isJsonProtocol(req: FakeRequest): boolean {
  return header(req, "x-amz-target")?.startsWith(STS_JSON_TARGET_PREFIX) ?? false;
}

/**
 * The request's parameters: query string and form fields for awsQuery, the body's top-level
 * scalars for awsJson (numbers as their decimal text). Lists and maps (Tags, PolicyArns) are
 * left out: nothing here reads them.
 */
export function stsParams(req: FakeRequest, asJson: boolean): Map<string, string> {
  const params = new Map<string, string>();
  if (asJson) {
    let body: unknown;
    try {
      body = req.body.length === 0 ? {} : JSON.parse(req.body.toString("utf8"));
    } catch {
      return params;
    }
    if (typeof body !== "object" || body === null) return params;
    for (const [key, value] of Object.entries(body)) {
      if (typeof value === "string" || typeof value === "number") params.set(key, String(value));
    }
    return params;
  }
  for (const [key, value] of new URLSearchParams(req.rawQuery)) params.set(key, value);
  if (header(req, "content-type")?.startsWith("application/x-www-form-urlencoded")) {
    for (const [key, value] of new URLSearchParams(req.body.toString("utf8"))) params.set(key, value);
  }
  return params;
}

/** `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`: how STS names a role session. */
export function assumedRoleArn(creds: RoleCredentialRecord): string {
  return `arn:aws:sts::${creds.accountId}:assumed-role/${creds.roleName}/${creds.sessionName}`;
}

/** `AROA…:SESSION`, the role's unique id (stable per account and role) and the session name. */
export function assumedRoleId(
  creds: Pick<RoleCredentialRecord, "accountId" | "roleName" | "sessionName">,
): string {
  const roleId = sha256(`${creds.accountId}/${creds.roleName}`).toString("hex").toUpperCase().slice(0, 17);
  return `AROA${roleId}:${creds.sessionName}`;
}

/** An XML element per entry, nested objects as nested elements, in the given order. */
export interface XmlTree {
  readonly [name: string]: string | XmlTree;
}

function toXml(tree: XmlTree, indent: string): string {
  return Object.entries(tree)
    .map(([name, value]) =>
      typeof value === "string"
        ? `${indent}<${name}>${xmlEscape(value)}</${name}>\n`
        : `${indent}<${name}>\n${toXml(value, `${indent}  `)}${indent}</${name}>\n`,
    )
    .join("");
}

/** A successful STS answer in the protocol the caller spoke: `<ActionResponse><ActionResult>…` or JSON. */
export function stsResult(action: string, result: XmlTree, json: unknown, asJson: boolean): Reply {
  if (asJson) {
    return {
      ...jsonReply(200, json, { "content-type": "application/x-amz-json-1.0" }),
      operation: action,
    };
  }
  const id = requestId();
  const body =
    `<${action}Response xmlns="${STS_XMLNS}">\n  <${action}Result>\n${toXml(result, "    ")}  </${action}Result>\n` +
    `  <ResponseMetadata>\n    <RequestId>${id}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`;
  return {
    status: 200,
    headers: { "content-type": "text/xml", "x-amzn-RequestId": id },
    body,
    operation: action,
  };
}
