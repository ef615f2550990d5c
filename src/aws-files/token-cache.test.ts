import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CacheFileError } from "../runtime/errors.js";
import { resolveAwsPaths } from "../runtime/paths.js";
import type { SsoToken } from "./token-cache.js";
import { readSsoToken, serializeSsoToken, sha1Hex, tokenCachePath, writeSsoToken } from "./token-cache.js";

const TOKEN: SsoToken = {
  startUrl: "https://d-1234567890.awsapps.com/start#/",
  region: "eu-west-1",
  accessToken: "aoa-token",
  expiresAt: "2026-01-01T01:00:00Z",
  clientId: "cid",
  clientSecret: "csecret",
  registrationExpiresAt: "2026-04-01T00:00:00Z",
  refreshToken: "rt",
};
// CPython's json.dumps of the same dict, as `aws sso login` writes it.
const CLI_TEXT =
  '{"startUrl": "https://d-1234567890.awsapps.com/start#/", "region": "eu-west-1", "accessToken": "aoa-token", "expiresAt": "2026-01-01T01:00:00Z", "clientId": "cid", "clientSecret": "csecret", "registrationExpiresAt": "2026-04-01T00:00:00Z", "refreshToken": "rt"}';

let home: string;
let cacheDir: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "sso-docker-token-"));
  cacheDir = resolveAwsPaths({ HOME: home }).ssoCacheDir;
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("tokenCachePath", () => {
  it("hashes the session name, or the start URL for legacy profiles", () => {
    expect(sha1Hex("my-sso")).toBe("0ad374308c5a4e22f723adf10145eafad7c4031c");
    expect(tokenCachePath("/c", { sessionName: "my-sso", startUrl: "https://x/start" })).toBe(
      "/c/0ad374308c5a4e22f723adf10145eafad7c4031c.json",
    );
    expect(
      tokenCachePath("/c", { sessionName: undefined, startUrl: "https://d-1234567890.awsapps.com/start" }),
    ).toBe("/c/7487b5b67d5fa1132cf33fa93ae51ef38cc37752.json");
  });
});

describe("serializeSsoToken", () => {
  it("writes the AWS CLI's exact bytes", () => {
    expect(serializeSsoToken(TOKEN)).toBe(CLI_TEXT);
  });

  it("leaves out absent optional fields and normalises timestamps to whole seconds", () => {
    const { refreshToken: _dropped, ...rest } = TOKEN;
    const text = serializeSsoToken({ ...rest, expiresAt: "2026-01-01T01:00:00.999Z" });
    expect(text).toBe(CLI_TEXT.replace(', "refreshToken": "rt"', ""));
  });
});

describe("readSsoToken / writeSsoToken", () => {
  it("round-trips with mode 0600 in a 0700 directory", async () => {
    const path = tokenCachePath(cacheDir, { sessionName: "my-sso", startUrl: TOKEN.startUrl });
    await writeSsoToken(path, TOKEN);
    expect(await readFile(path, "utf8")).toBe(CLI_TEXT);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(cacheDir)).mode & 0o777).toBe(0o700);
    expect(await readSsoToken(path)).toEqual(TOKEN);
  });

  it("returns undefined when there is no token", async () => {
    expect(await readSsoToken(join(cacheDir, "none.json"))).toBeUndefined();
  });

  it.each([
    ["the JS SDK's form with milliseconds", { ...TOKEN, expiresAt: "2026-01-01T01:00:00.000Z" }],
    ["older botocore's UTC suffix", { ...TOKEN, expiresAt: "2026-01-01T01:00:00UTC" }],
  ])("reads %s", async (_name, token) => {
    const path = join(cacheDir, "t.json");
    await mkdir(cacheDir, { recursive: true });
    await writeFile(path, JSON.stringify(token, null, 2));
    expect((await readSsoToken(path))?.expiresAt).toBe(token.expiresAt);
  });

  it("reads a token without the optional fields, ignoring ones of the wrong type", async () => {
    const path = join(cacheDir, "t.json");
    await mkdir(cacheDir, { recursive: true });
    await writeFile(path, JSON.stringify({ ...TOKEN, clientId: 7, refreshToken: null, extra: "x" }));
    const { clientId: _c, refreshToken: _r, ...rest } = TOKEN;
    expect(await readSsoToken(path)).toEqual(rest);
  });

  it.each([
    ["truncated JSON", CLI_TEXT.slice(0, 40), "is not valid JSON"],
    ["an empty file", "", "is empty"],
    ["a JSON array", "[1]", "is not a JSON object"],
    ["JSON null", "null", "is not a JSON object"],
    ["no access token", JSON.stringify({ ...TOKEN, accessToken: undefined }), "has no accessToken"],
    ["a bad expiry", JSON.stringify({ ...TOKEN, expiresAt: "later" }), "has an unreadable expiresAt"],
  ])("reports %s without touching the file or quoting secrets", async (_name, text, problem) => {
    const path = join(cacheDir, "bad.json");
    await mkdir(cacheDir, { recursive: true });
    await writeFile(path, text, { mode: 0o644 });
    const error = await readSsoToken(path, { profileName: "dev" }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CacheFileError);
    expect((error as CacheFileError).message).toBe(`The SSO token cache file ${path} ${problem}.`);
    expect((error as CacheFileError).hint).toContain("sso-docker login --profile dev");
    expect((error as CacheFileError).message).not.toMatch(/aoa-token|csecret|"rt"/);
    expect(await readFile(path, "utf8")).toBe(text);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
  });

  it("replaces an existing file's mode with 0600", async () => {
    const path = join(cacheDir, "t.json");
    await mkdir(cacheDir, { recursive: true });
    await writeFile(path, "{}", { mode: 0o644 });
    await writeSsoToken(path, TOKEN);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
