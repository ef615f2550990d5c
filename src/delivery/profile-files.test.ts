import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSharedConfigFiles } from "@smithy/shared-ini-file-loader";
import { describe, expect, it } from "vitest";
import { ProfileError } from "../runtime/errors.js";
import { RUN_LAYOUT, SHM_LAYOUT } from "./secret-dir.js";
import {
  encodeProfileFileName,
  renderAwsConfig,
  renderCredentialProcessJson,
  renderCredentialsFile,
  type DeliveryProfile,
} from "./profile-files.js";

const expiration = new Date("2026-03-01T12:34:56.789Z");
const profile = (name: string, tag = name): DeliveryProfile => ({
  name,
  credentials: {
    accessKeyId: `ASIA${tag.length}EXAMPLE`,
    secretAccessKey: `wJalr/${tag}+K7MDENG=`,
    sessionToken: `IQoJb3JpZ2luX2Vj/${tag}+x==`,
    expiration,
  },
});

/** Parses files the way the JS SDK inside the container will. */
async function parseWithSdk(config: string, credentials = "") {
  const dir = mkdtempSync(join(tmpdir(), "sso-docker-files-"));
  writeFileSync(join(dir, "config"), config);
  writeFileSync(join(dir, "credentials"), credentials);
  return loadSharedConfigFiles({ configFilepath: join(dir, "config"), filepath: join(dir, "credentials") });
}

describe("encodeProfileFileName", () => {
  it("keeps ordinary and dotted names readable", () => {
    expect(encodeProfileFileName("dev")).toBe("dev.json");
    expect(encodeProfileFileName("dev.admin_1-x")).toBe("dev.admin_1-x.json");
  });
  it("escapes everything that could leave the directory or collide", () => {
    expect(encodeProfileFileName("me@corp")).toBe("me%40corp.json");
    expect(encodeProfileFileName("../etc/passwd")).toBe("%2E.%2Fetc%2Fpasswd.json");
    expect(encodeProfileFileName("a%40")).toBe("a%2540.json");
    expect(encodeProfileFileName("é")).toBe("%C3%A9.json");
  });
});

describe("renderCredentialProcessJson", () => {
  it("is credential_process Version 1 with an RFC 3339 UTC expiration", () => {
    const json = JSON.parse(renderCredentialProcessJson(profile("dev"))) as Record<string, unknown>;
    expect(json).toEqual({
      Version: 1,
      AccessKeyId: "ASIA3EXAMPLE",
      SecretAccessKey: "wJalr/dev+K7MDENG=",
      SessionToken: "IQoJb3JpZ2luX2Vj/dev+x==",
      Expiration: "2026-03-01T12:34:56Z",
    });
  });
  it("rejects malformed credentials without echoing them", () => {
    const bad = profile("dev");
    bad.credentials.sessionToken = "line1\nSECRETVALUE";
    expect(() => renderCredentialProcessJson(bad)).toThrow(ProfileError);
    expect(() => renderCredentialProcessJson(bad)).not.toThrow(/SECRETVALUE/);
  });
});

describe("renderCredentialsFile", () => {
  it("round-trips dotted names and '=' in values through the SDK's parser", async () => {
    const parsed = await parseWithSdk("", renderCredentialsFile([profile("dev.admin"), profile("me@corp")]));
    expect(parsed.credentialsFile["dev.admin"]).toEqual({
      aws_access_key_id: "ASIA9EXAMPLE",
      aws_secret_access_key: "wJalr/dev.admin+K7MDENG=",
      aws_session_token: "IQoJb3JpZ2luX2Vj/dev.admin+x==",
    });
    expect(parsed.credentialsFile["me@corp"]?.aws_session_token).toBe("IQoJb3JpZ2luX2Vj/me@corp+x==");
  });
});

describe("renderAwsConfig", () => {
  it("maps each profile and [default] to the helper, with region and output", async () => {
    const text = renderAwsConfig(
      [{ name: "dev.admin", region: "eu-west-1", output: "json" }, { name: "me@corp" }],
      RUN_LAYOUT,
    );
    const { configFile } = await parseWithSdk(text);
    const helper = "/bin/sh /run/sso-docker/etc/credential-process";
    expect(configFile["dev.admin"]).toEqual({
      credential_process: `${helper} '/run/sso-docker/secrets/dev.admin.json'`,
      region: "eu-west-1",
      output: "json",
    });
    expect(configFile["default"]).toEqual(configFile["dev.admin"]);
    expect(configFile["me@corp"]).toEqual({
      credential_process: `${helper} '/run/sso-docker/secrets/me%40corp.json'`,
    });
  });
  it("writes a profile literally named default as [default] and adds no alias", async () => {
    const text = renderAwsConfig([{ name: "first" }, { name: "default" }], SHM_LAYOUT);
    expect(text.match(/^\[default\]$/gm)).toHaveLength(1);
    const { configFile } = await parseWithSdk(text);
    expect(configFile["default"]?.credential_process).toBe(
      "/bin/sh /etc/sso-docker/credential-process '/dev/shm/sso-docker/default.json'",
    );
  });
  it("refuses names no config file can hold", () => {
    for (const name of ["has space", "a]b", "x#y", "q'uote", ""]) {
      expect(() => renderAwsConfig([{ name }], RUN_LAYOUT)).toThrow(ProfileError);
    }
  });
});
