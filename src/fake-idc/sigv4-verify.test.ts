import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import type { FakeRequest } from "./http.js";
import { parseAuthorization, verifySigV4 } from "./sigv4-verify.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

function fakeRequest(
  method: string,
  target: string,
  headers: Record<string, string>,
  body = "",
): FakeRequest {
  const q = target.indexOf("?");
  const rawQuery = q === -1 ? "" : target.slice(q + 1);
  return {
    method,
    path: q === -1 ? target : target.slice(0, q),
    rawQuery,
    query: new URLSearchParams(rawQuery),
    headers: new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v]])),
    body: Buffer.from(body),
  };
}

function verify(req: FakeRequest, secret = SECRET) {
  const auth = parseAuthorization(req.headers.get("authorization")?.[0] ?? "");
  if (!auth) throw new Error("unparsable Authorization");
  return verifySigV4(req, auth, secret);
}

/** Signs with the SDK's own signer, then presents the request the way it arrives on the wire. */
async function signed(
  path: string,
  query: Record<string, string | string[]>,
  headers: Record<string, string>,
  body: string,
) {
  const signer = new SignatureV4({
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET, sessionToken: "token" },
    region: "eu-west-1",
    service: "sts",
    sha256: Sha256,
  });
  const request = await signer.sign({
    method: "POST",
    protocol: "http:",
    hostname: "127.0.0.1",
    port: 4000,
    path,
    query,
    headers: { host: "127.0.0.1:4000", ...headers },
    body,
  });
  const rawQuery = Object.entries(query)
    .flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`),
    )
    .join("&");
  return fakeRequest("POST", rawQuery ? `${path}?${rawQuery}` : path, request.headers, body);
}

describe("verifySigV4", () => {
  it("accepts the AWS test-suite vector get-vanilla", () => {
    const req = fakeRequest("GET", "/", {
      Host: "example.amazonaws.com",
      "X-Amz-Date": "20150830T123600Z",
      Authorization:
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    });
    expect(verify(req)).toEqual({ ok: true });
    expect(verify(req, SECRET.replace("K", "k")).ok).toBe(false);
  });

  it("agrees with @smithy/signature-v4 on paths, queries, header whitespace and bodies", async () => {
    const req = await signed(
      "/a/./b/../c%20d/",
      { b: ["2", "1"], a: "x y+z!*'()", é: "ü", empty: "" },
      { "content-type": "application/x-www-form-urlencoded", "x-custom": "  spaced   value  " },
      "Action=GetCallerIdentity&Version=2011-06-15",
    );
    expect(verify(req)).toEqual({ ok: true });
    expect(parseAuthorization(req.headers.get("authorization")?.[0] ?? "")).toMatchObject({
      accessKeyId: "AKIDEXAMPLE",
      region: "eu-west-1",
      service: "sts",
    });
  });

  it("rejects any change to what was signed", async () => {
    const make = () => signed("/", { p: "1" }, { "content-type": "text/plain" }, "body");
    const changes: ((req: FakeRequest) => FakeRequest)[] = [
      (r) => ({ ...r, method: "PUT" }),
      (r) => ({ ...r, path: "/other" }),
      (r) => ({ ...r, rawQuery: "p=2" }),
      (r) => ({ ...r, body: Buffer.from("other") }),
      (r) => ({ ...r, headers: new Map([...r.headers, ["content-type", ["text/html"]]]) }),
      (r) => ({ ...r, headers: new Map([...r.headers].filter(([k]) => k !== "x-amz-date")) }),
    ];
    for (const change of changes) expect(verify(change(await make())).ok).toBe(false);
    expect(verify(await make(), "wrong-secret").ok).toBe(false);
  });

  it("refuses malformed Authorization headers", () => {
    expect(
      parseAuthorization("AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=00"),
    ).toBeUndefined();
    expect(parseAuthorization("Bearer xyz")).toBeUndefined();
  });
});
