import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CacheFileError } from "../runtime/errors.js";
import type { ClientRegistration } from "./registration-cache.js";
import {
  readRegistration,
  registrationCacheKeyText,
  registrationCachePath,
  serializeRegistration,
  writeRegistration,
} from "./registration-cache.js";

const START_URL = "https://d-1234567890.awsapps.com/start";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sso-docker-registration-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("registrationCachePath (botocore's key)", () => {
  it("matches the AWS CLI without scopes (scopes: null)", () => {
    const owner = { startUrl: START_URL, region: "us-east-1", sessionName: "my-sso" };
    expect(registrationCacheKeyText(owner)).toBe(
      '{"region": "us-east-1", "scopes": null, "session_name": "my-sso", "startUrl": "https://d-1234567890.awsapps.com/start", "tool": "botocore"}',
    );
    expect(registrationCachePath("/c", owner)).toBe("/c/8b2cedd020fb181ad4cf906d1d27b232fd31557e.json");
  });

  it("matches the AWS CLI with scopes", () => {
    const owner = {
      startUrl: START_URL,
      region: "us-east-1",
      sessionName: "my-sso",
      scopes: ["sso:account:access"],
    };
    expect(registrationCachePath("/c", owner)).toBe("/c/a8343d65418848d0bc13a5f25cbb32508ceec5d1.json");
  });

  it("matches the AWS CLI for a legacy profile (session_name and scopes null)", () => {
    const owner = { startUrl: START_URL, region: "us-east-1", sessionName: undefined, scopes: undefined };
    expect(registrationCachePath("/c", owner)).toBe("/c/365414a68be7c9bfc776c660981dbdbd942acea4.json");
  });
});

const REGISTRATION: ClientRegistration = {
  clientId: "cid",
  clientSecret: "cs",
  expiresAt: Date.UTC(2026, 3, 1),
  scopes: ["sso:account:access"],
  grantTypes: ["authorization_code", "refresh_token"],
};
// CPython's json.dumps of the dict the AWS CLI's PKCE flow caches.
const CLI_TEXT =
  '{"clientId": "cid", "clientSecret": "cs", "expiresAt": "2026-04-01T00:00:00Z", "scopes": ["sso:account:access"], "grantTypes": ["authorization_code", "refresh_token"]}';

describe("registration files", () => {
  it("serialises exactly as the AWS CLI, leaving out unset parts", () => {
    expect(serializeRegistration(REGISTRATION)).toBe(CLI_TEXT);
    expect(
      serializeRegistration({
        clientId: "cid",
        clientSecret: "cs",
        expiresAt: Date.UTC(2026, 3, 1),
        scopes: [],
      }),
    ).toBe('{"clientId": "cid", "clientSecret": "cs", "expiresAt": "2026-04-01T00:00:00Z"}');
  });

  it("round-trips with mode 0600", async () => {
    const path = registrationCachePath(join(dir, "cache"), { startUrl: START_URL, region: "us-east-1" });
    await writeRegistration(path, REGISTRATION);
    expect(await readFile(path, "utf8")).toBe(CLI_TEXT);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readRegistration(path)).toEqual(REGISTRATION);
  });

  it("reads a device-code registration of an older CLI", async () => {
    const path = join(dir, "old.json");
    await writeFile(path, '{"clientId": "cid", "clientSecret": "cs", "expiresAt": "2026-04-01T00:00:00UTC"}');
    expect(await readRegistration(path)).toEqual({
      clientId: "cid",
      clientSecret: "cs",
      expiresAt: Date.UTC(2026, 3, 1),
    });
  });

  it("returns undefined when absent and reports a corrupt file without touching it", async () => {
    expect(await readRegistration(join(dir, "none.json"))).toBeUndefined();
    const path = join(dir, "bad.json");
    await mkdir(dir, { recursive: true });
    await writeFile(path, '{"clientId": "cid", "clientSecret": "c');
    const error = await readRegistration(path, { profileName: "dev" }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CacheFileError);
    expect((error as CacheFileError).message).toBe(
      `The client registration cache file ${path} is not valid JSON.`,
    );
    expect((error as CacheFileError).hint).toBe(
      `Remove it and sign in again: rm ${path} && sso-docker login --profile dev`,
    );
    expect(await readFile(path, "utf8")).toBe('{"clientId": "cid", "clientSecret": "c');
  });
});
