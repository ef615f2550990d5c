import { loadSharedConfigFiles, loadSsoSessionData } from "@smithy/shared-ini-file-loader";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../runtime/errors.js";
import type { AwsConfig } from "./config-read.js";
import { findConfigSyntaxError, loadAwsConfig, lookupSection, parseAwsConfig } from "./config-read.js";

let dir: string;
let fileCount = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sso-docker-config-read-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What the SDK itself makes of the text (a fresh path each time: loadSsoSessionData caches by path). */
async function readWithSdk(text: string) {
  const file = join(dir, `config-${++fileCount}`);
  await writeFile(file, text);
  const { configFile } = await loadSharedConfigFiles({
    configFilepath: file,
    filepath: join(dir, "no-credentials"),
    ignoreCache: true,
  });
  return { configFile, ssoSessions: await loadSsoSessionData({ configFilepath: file }) };
}

/** Ours, in the SDK's shape: profiles by name, `sso-session.x`, `services.x`. */
function toSdkShape(config: AwsConfig) {
  const shaped: Record<string, Record<string, string>> = {};
  for (const [name, keys] of Object.entries(config.profiles)) shaped[name] = { ...keys };
  for (const [name, keys] of Object.entries(config.ssoSessions)) shaped[`sso-session.${name}`] = { ...keys };
  for (const [name, keys] of Object.entries(config.services)) shaped[`services.${name}`] = { ...keys };
  return shaped;
}

function plain(map: AwsConfig["ssoSessions"]) {
  return Object.fromEntries(Object.entries(map).map(([name, keys]) => [name, { ...keys }]));
}

async function expectSameAsSdk(text: string): Promise<void> {
  const ours = parseAwsConfig(text, "config");
  const sdk = await readWithSdk(text);
  expect(toSdkShape(ours)).toEqual(sdk.configFile);
  expect(plain(ours.ssoSessions)).toEqual(sdk.ssoSessions);
}

const RICH = [
  "# my AWS config",
  "[default]",
  "region = eu-west-1 ; inline comment",
  "output=json",
  "",
  "[profile dev.admin]  # dotted name",
  "sso_session = my-sso",
  "sso_account_id = 111122223333",
  "sso_role_name = Admin",
  "services = local",
  "s3 =",
  "  addressing_style = path",
  "region = us-east-1",
  "",
  "[sso-session my-sso]",
  "sso_start_url = https://x.awsapps.com/start#/",
  "sso_region = us-east-1",
  "sso_registration_scopes = sso:account:access, ,codewhisperer:completions",
  "",
  "[services local]",
  "sso_oidc =",
  "  endpoint_url = http://127.0.0.1:4000",
  "sso =",
  "\tendpoint_url = http://127.0.0.1:4001",
  "",
  "[profile 'quoted']",
  "region = ap-south-1",
  '[profile "double"]',
  "region = ap-south-2",
  "[unknown thing]",
  "ignored = yes",
  "[plain]",
  "ignored = too",
  "[profile legacy]",
  "sso_start_url=https://d-1234567890.awsapps.com/start",
  "   sso_region   =   us-west-2   ",
  "#commented = out",
  "url = http://host/#frag",
].join("\n");

describe("parseAwsConfig equals the SDK loader", () => {
  it.each([
    ["the rich fixture", RICH],
    ["CRLF line endings", RICH.replace(/\n/g, "\r\n")],
    ["no final newline", "[profile a]\nregion = x"],
    ["an empty file", ""],
    ["[profile default] over [default]", "[default]\nregion = a\nx = 1\n[profile default]\nregion = b\n"],
    ["duplicate sections merging", "[profile a]\nregion = a\nk = 1\n[profile b]\n[profile a]\nregion = b\n"],
    [
      "sub-section ended by an unindented key",
      "[services s]\nsso =\n  endpoint_url = u\nendpoint_url = top\n",
    ],
    ["a sub-section opener at the end", "[services s]\nsso_oidc =\n"],
    ["empty sections", "[profile empty]\n\n[sso-session none]\n"],
    ["values with = and quotes", '[profile q]\nv = a=b "c"\n'],
    ["an [] header", "[profile a]\nk = 1\n[]\nk = 2\n"],
    ["a __proto__ key", "[profile p]\n__proto__ = x\nk = v\n"],
    ["a constructor profile", "[profile constructor]\nregion = x\n"],
  ])("for %s", async (_name, text) => {
    if (findConfigSyntaxError(text)) {
      // `[]` is refused by us (and the AWS CLI); compare the part the SDK keeps.
      expect(_name).toBe("an [] header");
      return;
    }
    await expectSameAsSdk(text);
  });

  it("for 400 generated files", async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const headers = [
      "[default]",
      "[profile a]",
      "[profile b.c]",
      "[sso-session s]",
      "[services x]",
      "[profile  a]",
      "[x y]",
      "[  profile a ]",
      "[profile a] # c",
      "[profile 'a']",
    ];
    const lines = [
      "k = v",
      "k=v2",
      "  k = indented",
      "\tk = tab",
      "sub =",
      "  sub_k = 1",
      "sso_start_url = https://x/start#/",
      "v = a #comment",
      "v = a;b",
      "v = a ;comment",
      "# comment",
      "; comment",
      "",
      "   ",
      "endpoint_url = http://h:1",
      "k == double",
    ];
    let compared = 0;
    for (let round = 0; round < 400; round++) {
      const count = 1 + Math.floor(random() * 25);
      const body = [pick(headers)];
      for (let i = 0; i < count; i++) body.push(random() < 0.2 ? pick(headers) : pick(lines));
      const text = body.join(random() < 0.3 ? "\r\n" : "\n") + (random() < 0.5 ? "\n" : "");
      if (findConfigSyntaxError(text)) continue;
      await expectSameAsSdk(text);
      compared++;
    }
    expect(compared).toBeGreaterThan(350);
  });
});

describe("parseAwsConfig", () => {
  it("keeps dotted profile names, # inside URLs and flattened sub-sections", () => {
    const config = parseAwsConfig(RICH, "config");
    expect(config.profiles["dev.admin"]?.["s3.addressing_style"]).toBe("path");
    expect(config.ssoSessions["my-sso"]?.["sso_start_url"]).toBe("https://x.awsapps.com/start#/");
    expect(config.services["local"]).toEqual({
      "sso_oidc.endpoint_url": "http://127.0.0.1:4000",
      "sso.endpoint_url": "http://127.0.0.1:4001",
    });
    expect(config.profiles["default"]).toEqual({ region: "eu-west-1", output: "json" });
  });

  it("never returns inherited properties as sections", () => {
    const config = parseAwsConfig("[profile a]\nk = v\n", "config");
    expect(lookupSection(config.profiles, "constructor")).toBeUndefined();
    expect(lookupSection(config.profiles, "toString")).toBeUndefined();
  });

  it.each([
    ["binary data", "[profile a]\nk = v\n\u0000\u0001", 3, "binary"],
    ["invalid UTF-8", "[profile a]\n\uFFFD\n", 2, "UTF-8"],
    ["an unterminated header", "[profile a]\nk = v\n[profile b\nk = w\n", 3, "section header"],
    ["text after a header", "[profile a] junk\n", 1, "section header"],
    ["a setting before any section", "region = x\n[profile a]\n", 1, "outside"],
    ["a line without =", "[profile a]\njust words\n", 2, "name = value"],
    ["a value without a name", "[profile a]\n= value\n", 2, "no setting name"],
    ["[profile __proto__]", "[profile __proto__]\nk = v\n", 1, "reserved"],
  ])("names the file and line for %s", (_name, text, line, problem) => {
    const error = (() => {
      try {
        parseAwsConfig(text, "/home/u/.aws/config");
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain("/home/u/.aws/config");
    expect((error as ConfigError).message).toContain(`line ${line} `);
    expect((error as ConfigError).message).toContain(problem);
    expect((error as ConfigError).hint).toContain("sso-docker configure");
  });

  it("accepts what the AWS CLI accepts: colon settings, indented continuations, comments", () => {
    expect(findConfigSyntaxError("# top\n[profile a]\nregion: x\nk = line1\n  line2\n; c\n")).toBeUndefined();
  });
});

describe("loadAwsConfig", () => {
  it("treats a missing file as an empty config, as the SDKs do", async () => {
    const config = await loadAwsConfig(join(dir, "missing"));
    expect(Object.keys(config.profiles)).toEqual([]);
  });

  it("reads a file from disk", async () => {
    const file = join(dir, "real");
    await writeFile(file, "[profile a]\r\nregion = x\r\n");
    expect((await loadAwsConfig(file)).profiles["a"]).toEqual({ region: "x" });
  });

  it("names an unreadable file", async () => {
    const sub = join(dir, "a-directory");
    await mkdir(sub);
    await expect(loadAwsConfig(sub)).rejects.toThrow(new RegExp(`${sub}.*EISDIR`));
  });
});
