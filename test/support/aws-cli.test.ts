import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runAwsCli, writeAwsCliEndpointOverrides } from "./aws-cli.js";

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const seen: SeenRequest[] = [];

/** Answers just what these tests ask of the CLI; everything else is a 404 the CLI reports. */
function answer(request: SeenRequest, response: ServerResponse): void {
  if (request.method === "POST" && request.url === "/client/register") {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        clientId: "client-id",
        clientSecret: "client-secret",
        clientIdIssuedAt: 1_767_225_600,
        clientSecretExpiresAt: 1_774_915_200,
      }),
    );
  } else if (request.method === "POST" && request.body.includes("Action=GetCallerIdentity")) {
    response.writeHead(200, { "content-type": "text/xml" });
    response.end(
      '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
        "<Arn>arn:aws:sts::123456789012:assumed-role/Dev/x</Arn><UserId>AROA:x</UserId>" +
        "<Account>123456789012</Account></GetCallerIdentityResult>" +
        "<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
    );
  } else {
    response.writeHead(404, { "x-amzn-ErrorType": "NotFound" }).end();
  }
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const entry = {
      method: request.method ?? "",
      url: request.url ?? "",
      headers: request.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    };
    seen.push(entry);
    answer(entry, response);
  });
});

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "sso-docker-aws-cli-"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await writeAwsCliEndpointOverrides(home, `http://127.0.0.1:${port}`);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(home, { recursive: true, force: true });
});

describe("runAwsCli with endpoint overrides in HOME", () => {
  it("sends sso-oidc register-client to the local server", async () => {
    const result = await runAwsCli(
      [
        "sso-oidc",
        "register-client",
        "--client-name",
        "x",
        "--client-type",
        "public",
        "--region",
        "us-east-1",
      ],
      { home },
    );
    expect(result, result.stderr).toMatchObject({ exitCode: 0 });
    expect(JSON.parse(result.stdout)).toMatchObject({ clientId: "client-id" });
    const request = seen.find((r) => r.url === "/client/register");
    expect(JSON.parse(request!.body)).toEqual({ clientName: "x", clientType: "public" });
  });

  it("sends sts get-caller-identity to the local server, signed for sts", async () => {
    const result = await runAwsCli(["sts", "get-caller-identity", "--region", "eu-west-1"], {
      home,
      env: { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" },
    });
    expect(result, result.stderr).toMatchObject({ exitCode: 0 });
    expect(JSON.parse(result.stdout)).toMatchObject({ Account: "123456789012" });
    const request = seen.find((r) => r.body.includes("Action=GetCallerIdentity"));
    expect(request!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d+\/eu-west-1\/sts\//,
    );
  });

  it("keeps AWS_* of the outer environment away from the CLI", async () => {
    vi.stubEnv("AWS_DEFAULT_REGION", "eu-west-9");
    vi.stubEnv("AWS_CONFIG_FILE", "/nonexistent/config");
    try {
      const result = await runAwsCli(["configure", "get", "region"], { home });
      expect(result).toMatchObject({ exitCode: 1, stdout: "" });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
