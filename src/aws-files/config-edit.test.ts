import { loadSharedConfigFiles, loadSsoSessionData } from "@smithy/shared-ini-file-loader";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../runtime/errors.js";
import { parseAwsConfig } from "./config-read.js";
import type { ConfigSectionUpdate } from "./config-edit.js";
import { upsertConfigSections } from "./config-edit.js";

/** Every trap at once: comments, sub-sections, dotted names, `#` in a URL, CRLF, no final newline. */
const RICH = [
  "# Managed by hand. Do not lose this comment.",
  "[default]",
  "region = eu-west-1",
  "",
  "[services local]",
  "; endpoints for the local fake",
  "sso_oidc =",
  "  endpoint_url = http://127.0.0.1:4000",
  "sso =",
  "  endpoint_url = http://127.0.0.1:4001",
  "",
  "[profile dev.admin]",
  "# who: the platform team",
  "sso_session = my-sso",
  "sso_account_id = 111122223333",
  "sso_role_name = ReadOnly   # temporary",
  "custom_key = keep me",
  "s3 =",
  "  addressing_style = path",
  "",
  "# --- sessions below ---",
  "[sso-session my-sso]",
  "sso_start_url = https://x.awsapps.com/start#/",
  "sso_region = us-east-1",
  "",
  "[profile other]",
  "region = us-west-2",
].join("\r\n");

const UPDATES: ConfigSectionUpdate[] = [
  {
    type: "sso-session",
    name: "my-sso",
    values: { sso_start_url: "https://x.awsapps.com/start#/", sso_region: "eu-central-1" },
  },
  {
    type: "profile",
    name: "dev.admin",
    values: {
      sso_session: "my-sso",
      sso_account_id: "111122223333",
      sso_role_name: "Admin",
      region: "eu-central-1",
    },
  },
  {
    type: "profile",
    name: "new.one",
    values: {
      sso_session: "my-sso",
      sso_account_id: "444455556666",
      sso_role_name: "Dev",
      output: undefined,
    },
  },
];

const EXPECTED = [
  "# Managed by hand. Do not lose this comment.",
  "[default]",
  "region = eu-west-1",
  "",
  "[services local]",
  "; endpoints for the local fake",
  "sso_oidc =",
  "  endpoint_url = http://127.0.0.1:4000",
  "sso =",
  "  endpoint_url = http://127.0.0.1:4001",
  "",
  "[profile dev.admin]",
  "# who: the platform team",
  "sso_session = my-sso",
  "sso_account_id = 111122223333",
  "# temporary",
  "sso_role_name = Admin",
  "custom_key = keep me",
  "s3 =",
  "  addressing_style = path",
  "region = eu-central-1",
  "",
  "# --- sessions below ---",
  "[sso-session my-sso]",
  "sso_start_url = https://x.awsapps.com/start#/",
  "sso_region = eu-central-1",
  "",
  "[profile other]",
  "region = us-west-2",
  "",
  "[profile new.one]",
  "sso_session = my-sso",
  "sso_account_id = 444455556666",
  "sso_role_name = Dev",
].join("\r\n");

let dir: string;
let count = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sso-docker-config-edit-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sdkRead(text: string) {
  const file = join(dir, `config-${++count}`);
  await writeFile(file, text);
  const { configFile } = await loadSharedConfigFiles({
    configFilepath: file,
    filepath: join(dir, "none"),
    ignoreCache: true,
  });
  return { configFile, sessions: await loadSsoSessionData({ configFilepath: file }) };
}

/** Header line → the section's full text, for comparing untouched sections byte for byte. */
function sectionsOf(text: string): Map<string, string> {
  const map = new Map<string, string>();
  let current = "(preamble)";
  for (const line of text.split(/(?<=\n)/)) {
    if (line.startsWith("[")) current = line.trim();
    map.set(current, (map.get(current) ?? "") + line);
  }
  return map;
}

describe("upsertConfigSections", () => {
  it("edits owned sections in place and appends new ones, keeping every other byte", () => {
    const result = upsertConfigSections(RICH, UPDATES);
    expect(result).toBe(EXPECTED);
    expect(result).not.toMatch(/[^\r]\n/);
    expect(result.endsWith("\n")).toBe(false);
    const before = sectionsOf(RICH);
    const after = sectionsOf(result);
    for (const header of ["(preamble)", "[default]", "[services local]"])
      expect(after.get(header)).toBe(before.get(header));
  });

  it("is read back by the SDK loader with the new profile and the rest unchanged", async () => {
    const before = await sdkRead(RICH);
    const after = await sdkRead(upsertConfigSections(RICH, UPDATES));
    expect(after.configFile["new.one"]).toEqual({
      sso_session: "my-sso",
      sso_account_id: "444455556666",
      sso_role_name: "Dev",
    });
    expect(after.configFile["dev.admin"]).toEqual({
      ...before.configFile["dev.admin"],
      sso_role_name: "Admin",
      region: "eu-central-1",
    });
    expect(after.sessions["my-sso"]).toEqual({
      sso_start_url: "https://x.awsapps.com/start#/",
      sso_region: "eu-central-1",
    });
    for (const key of ["default", "services.local", "other"])
      expect(after.configFile[key]).toEqual(before.configFile[key]);
  });

  it("leaves a line holding the value untouched, inline comment and all", () => {
    const text = "[profile a]\nregion   =  x   # keep\n";
    expect(upsertConfigSections(text, [{ type: "profile", name: "a", values: { region: "x" } }])).toBe(text);
  });

  it("changes a start URL with # in it and the SDK reads it whole", async () => {
    const text =
      "[sso-session s]\r\nsso_start_url=https://x.awsapps.com/start#/\r\nsso_region = us-east-1\r\n";
    const result = upsertConfigSections(text, [
      { type: "sso-session", name: "s", values: { sso_start_url: "https://y.awsapps.com/start#/" } },
    ]);
    expect(result).toBe(
      "[sso-session s]\r\nsso_start_url=https://y.awsapps.com/start#/\r\nsso_region = us-east-1\r\n",
    );
    expect((await sdkRead(result)).sessions["s"]?.["sso_start_url"]).toBe("https://y.awsapps.com/start#/");
  });

  it("is idempotent", () => {
    const once = upsertConfigSections(RICH, UPDATES);
    expect(upsertConfigSections(once, UPDATES)).toBe(once);
  });

  it("writes a new file with LF and a final newline, [default] for the default profile", () => {
    expect(
      upsertConfigSections("", [
        {
          type: "sso-session",
          name: "corp",
          values: { sso_start_url: "https://c/start", sso_region: "us-east-1" },
        },
        { type: "profile", name: "default", values: { sso_session: "corp" } },
      ]),
    ).toBe(
      "[sso-session corp]\nsso_start_url = https://c/start\nsso_region = us-east-1\n\n[default]\nsso_session = corp\n",
    );
  });

  it("adds a key at the end of the last section without adding a final newline", () => {
    expect(
      upsertConfigSections("[profile a]\nregion = x", [
        { type: "profile", name: "a", values: { output: "json" } },
      ]),
    ).toBe("[profile a]\nregion = x\noutput = json");
  });

  it("keeps the final newline state when appending", () => {
    expect(upsertConfigSections("[profile a]\n", [{ type: "profile", name: "b", values: { k: "v" } }])).toBe(
      "[profile a]\n\n[profile b]\nk = v\n",
    );
  });

  it("removes keys set to undefined, keeping the missing final newline", () => {
    expect(
      upsertConfigSections("[profile a]\nregion = x\noutput = json", [
        { type: "profile", name: "a", values: { output: undefined, region: "y" } },
      ]),
    ).toBe("[profile a]\nregion = y");
  });

  it("edits [profile default] when present, since the SDK reads it instead of [default]", () => {
    const text = "[default]\nregion = a\n\n[profile default]\nregion = b\n";
    expect(upsertConfigSections(text, [{ type: "profile", name: "default", values: { region: "c" } }])).toBe(
      "[default]\nregion = a\n\n[profile default]\nregion = c\n",
    );
    expect(
      upsertConfigSections("[default]\nregion = a\n", [
        { type: "profile", name: "default", values: { region: "c" } },
      ]),
    ).toBe("[default]\nregion = c\n");
  });

  it("edits every copy of a duplicated section (the SDK merges them)", () => {
    const text = "[profile a]\nregion = 1\n[profile b]\nregion = 2\n[profile a]\nregion = 3\n";
    expect(
      upsertConfigSections(text, [{ type: "profile", name: "a", values: { region: "9", output: "json" } }]),
    ).toBe("[profile a]\nregion = 9\n[profile b]\nregion = 2\n[profile a]\nregion = 9\noutput = json\n");
  });

  it("matches quoted headers and leaves same-named sub-section keys alone", async () => {
    const text = "[profile 'q']\ns3 =\n  region = inner\n";
    const result = upsertConfigSections(text, [{ type: "profile", name: "q", values: { region: "outer" } }]);
    expect(result).toBe("[profile 'q']\ns3 =\n  region = inner\nregion = outer\n");
    expect((await sdkRead(result)).configFile["q"]).toEqual({ "s3.region": "inner", region: "outer" });
  });

  it("does not treat a section the SDK ignores as the profile", () => {
    const text = "[profile  a]\nregion = x\n";
    expect(upsertConfigSections(text, [{ type: "profile", name: "a", values: { region: "y" } }])).toBe(
      "[profile  a]\nregion = x\n\n[profile a]\nregion = y\n",
    );
  });

  it("keeps the file parseable by our reader", () => {
    expect(() => parseAwsConfig(upsertConfigSections(RICH, UPDATES), "config")).not.toThrow();
  });

  it.each([
    ["a name the SDK cannot read", { type: "profile", name: "has space", values: {} }],
    ["an empty value (would open a sub-section)", { type: "profile", name: "a", values: { region: "" } }],
    [
      "a value with a comment marker",
      { type: "profile", name: "a", values: { sso_start_url: "https://x/ #y" } },
    ],
    ["a value starting with #", { type: "profile", name: "a", values: { region: "#x" } }],
    ["a multi-line value", { type: "profile", name: "a", values: { region: "a\nb = c" } }],
    ["padded values", { type: "profile", name: "a", values: { region: " a" } }],
    ["a bad key", { type: "profile", name: "a", values: { "bad key": "v" } }],
  ] as const)("refuses %s", (_name, update) => {
    expect(() => upsertConfigSections("", [update as ConfigSectionUpdate])).toThrow(ConfigError);
  });
});
