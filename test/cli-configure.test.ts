import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadSharedConfigFiles, loadSsoSessionData } from "@smithy/shared-ini-file-loader";
import { beforeAll, describe, it, type ExpectStatic } from "vitest";
import { startFakeIdc, type FakeAccount, type FakeIdc } from "../src/fake-idc/index.js";
import { assertBuilt, cliEnv, createHome, runCli, snapshotTree, type TestHome } from "./cli-support.js";

// `sso-docker configure` with every answer as a flag (no TTY), against the fake IAM Identity
// Center, editing an existing hand-written ~/.aws/config. The AWS SDK's own loader is the judge.

const RICH_LINES = [
  "# Hand-written: sso-docker must keep every byte of this file it does not own.",
  "; a semicolon comment",
  "[default]",
  "region = eu-west-1",
  "output = json",
  "",
  "[profile dev.admin]   # a dotted profile name",
  "sso_session = corp",
  "sso_account_id = 123456789012",
  "sso_role_name = Admin",
  "region = eu-central-1 ; trailing comment",
  "x_unknown_key = keep me",
  "",
  "[sso-session corp]",
  "sso_start_url = https://corp.awsapps.com/start#/",
  "sso_region = eu-central-1",
  "sso_registration_scopes = sso:account:access",
  "",
  "[profile legacy]",
  "sso_start_url = https://x.awsapps.com/start#/",
  "sso_region = us-west-2",
  "sso_account_id = 210987654321",
  "sso_role_name = ReadOnly",
  "services = local",
  "",
  "# LocalStack for the legacy profile",
  "[services local]",
  "s3 =",
  "  endpoint_url = http://localhost:4566",
  "  addressing_style = path",
  "sts =",
  "  endpoint_url = http://localhost:4566",
];

const VARIANTS = {
  "LF with a final newline": RICH_LINES.join("\n") + "\n",
  "CRLF with a final newline": RICH_LINES.join("\r\n") + "\r\n",
  "LF without a final newline": RICH_LINES.join("\n"),
  "CRLF without a final newline": RICH_LINES.join("\r\n"),
} as const;

// Small pages so ListAccounts / ListAccountRoles need several requests each.
const ACCOUNTS: readonly FakeAccount[] = [
  { accountId: "111111111111", accountName: "dev", emailAddress: "dev@example.com", roles: ["Admin"] },
  { accountId: "222222222222", accountName: "test", emailAddress: "test@example.com", roles: ["Admin"] },
  {
    accountId: "333333333333",
    accountName: "prod",
    emailAddress: "prod@example.com",
    roles: ["ReadOnlyAccess", "PowerUserAccess", "DataScientist"],
  },
];
const START_URL = "https://d-9067c0ffee.awsapps.com/start#/";

beforeAll(() => {
  assertBuilt();
});

async function withIdc(fn: (idc: FakeIdc) => Promise<void>): Promise<void> {
  await using idc = await startFakeIdc({ autoApprove: true, accounts: ACCOUNTS, pageSize: 1 });
  await fn(idc);
}

function configureArgs(overrides: Record<string, string | undefined> = {}): string[] {
  const values: Record<string, string | undefined> = {
    "--sso-session": "fake",
    "--start-url": START_URL,
    "--sso-region": "us-east-1",
    "--account-id": "333333333333",
    "--role-name": "DataScientist",
    "--region": "eu-north-1",
    "--output": "yaml",
    "--profile": "ds.prod",
    ...overrides,
  };
  const args = ["configure"];
  for (const [flag, value] of Object.entries(values)) if (value !== undefined) args.push(flag, value);
  return [...args, "--use-device-code", "--no-browser"];
}

async function expectOk(expect: ExpectStatic, run: ReturnType<typeof runCli>): Promise<void> {
  const result = await run;
  expect(result.exitCode, result.stderr).toBe(0);
}

let copies = 0;
/** ~/.aws/config as the AWS SDK for JavaScript v3 reads it (a fresh path each time: no SDK file cache). */
async function sdkRead(home: TestHome) {
  const file = join(home.home, `config-copy-${++copies}`);
  await copyFile(home.configFile, file);
  const { configFile } = await loadSharedConfigFiles({
    configFilepath: file,
    filepath: join(home.home, "no-credentials-file"),
    ignoreCache: true,
  });
  return { profiles: configFile, sessions: await loadSsoSessionData({ configFilepath: file }) };
}

async function seedConfig(home: TestHome, text: string): Promise<void> {
  await mkdir(join(home.home, ".aws"), { recursive: true });
  await writeFile(home.configFile, text);
}

const readConfig = (home: TestHome) => readFile(home.configFile, "utf8");

// Every test has its own fake and HOME, so they run side by side.
describe.concurrent("sso-docker configure, non-interactive", { timeout: 60_000 }, () => {
  for (const [variant, original] of Object.entries(VARIANTS)) {
    it(`appends the new sections to a rich config (${variant}), every original byte kept`, async ({
      expect,
    }) => {
      await withIdc(async (idc) => {
        await using home = await createHome();
        await seedConfig(home, original);
        const before = await sdkRead(home);

        const result = await runCli(configureArgs(), cliEnv(home, idc));
        expect(result.stderr).not.toMatch(/sso-docker:/);
        expect(result.exitCode, result.stderr).toBe(0);
        expect(result.stdout).toContain('Wrote profile "ds.prod"');
        expect(result.stdout).toContain("sso-docker credentials --profile ds.prod");

        const text = await readConfig(home);
        const eol = original.includes("\r\n") ? "\r\n" : "\n";
        const hadFinalNewline = original.endsWith(eol);
        expect(text.startsWith(hadFinalNewline ? original : original + eol)).toBe(true);
        expect(text.endsWith(eol)).toBe(hadFinalNewline);
        // The appended part uses the file's own line ending, nothing else.
        const added = text.slice(original.length);
        if (eol === "\r\n") expect(added).not.toMatch(/(?<!\r)\n/);
        else expect(added).not.toContain("\r");

        const after = await sdkRead(home);
        expect(after.sessions).toEqual({
          ...before.sessions,
          fake: {
            sso_start_url: START_URL,
            sso_region: "us-east-1",
            sso_registration_scopes: "sso:account:access",
          },
        });
        // The SDK's configFile holds [sso-session …] sections under their prefixed key too.
        expect(after.profiles).toEqual({
          ...before.profiles,
          "sso-session.fake": after.sessions["fake"],
          "ds.prod": {
            sso_session: "fake",
            sso_account_id: "333333333333",
            sso_role_name: "DataScientist",
            region: "eu-north-1",
            output: "yaml",
          },
        });
        // What the SDK read from the original is still what it reads, including the tricky bits.
        expect(after.profiles["legacy"]?.["sso_start_url"]).toBe("https://x.awsapps.com/start#/");
        expect(after.profiles["dev.admin"]?.["region"]).toBe("eu-central-1");
        expect(after.profiles["services.local"]).toMatchObject({
          "s3.endpoint_url": "http://localhost:4566",
          "s3.addressing_style": "path",
          "sts.endpoint_url": "http://localhost:4566",
        });

        // The account came from the last ListAccounts page and the role from the last ListAccountRoles page.
        expect(idc.count("/assignment/accounts", { status: 200 })).toBe(3);
        expect(idc.count("/assignment/roles", { status: 200 })).toBe(3);
        expect(
          idc.requests.filter((r) => r.path === "/assignment/roles").map((r) => r.query["account_id"]),
        ).toEqual(["333333333333", "333333333333", "333333333333"]);
        // Signed in once, with the device code flow.
        expect(idc.count("/token", { operation: "device_code", status: 200 })).toBe(1);
      });
    });
  }

  it("updates an existing profile in place: other sections keep their bytes and order", async ({
    expect,
  }) => {
    await withIdc(async (idc) => {
      await using home = await createHome();
      const original = VARIANTS["CRLF with a final newline"];
      await seedConfig(home, original);
      const env = cliEnv(home, idc);

      await expectOk(expect, runCli(configureArgs({ "--profile": "first" }), env));
      await expectOk(expect, runCli(configureArgs({ "--profile": "second" }), env));
      const twoProfiles = await readConfig(home);

      // Now point the existing "first" and the hand-written "dev.admin" somewhere else.
      const again = configureArgs({
        "--profile": "first",
        "--account-id": "111111111111",
        "--role-name": "Admin",
      });
      await expectOk(expect, runCli(again, env));
      const devAdmin = configureArgs({
        "--profile": "dev.admin",
        "--account-id": "222222222222",
        "--role-name": "Admin",
        "--region": "ap-south-1",
      });
      await expectOk(expect, runCli(devAdmin, env));
      const text = await readConfig(home);

      // Exactly the changed values moved; every other line (comments, unknown keys, CRLF) is as it was.
      const expected = twoProfiles
        .replace(
          "[profile first]\r\nsso_session = fake\r\nsso_account_id = 333333333333\r\nsso_role_name = DataScientist\r\n",
          "[profile first]\r\nsso_session = fake\r\nsso_account_id = 111111111111\r\nsso_role_name = Admin\r\n",
        )
        .replace(
          [
            "[profile dev.admin]   # a dotted profile name",
            "sso_session = corp",
            "sso_account_id = 123456789012",
            "sso_role_name = Admin",
            "region = eu-central-1 ; trailing comment",
            "x_unknown_key = keep me",
            "",
          ].join("\r\n"),
          [
            "[profile dev.admin]   # a dotted profile name",
            "sso_session = fake",
            "sso_account_id = 222222222222",
            "sso_role_name = Admin",
            // The AWS CLI would read an inline comment as part of the value, so it moves above.
            "; trailing comment",
            "region = ap-south-1",
            "x_unknown_key = keep me",
            "output = yaml",
            "",
          ].join("\r\n"),
        );
      expect(expected).not.toBe(twoProfiles);
      expect(text).toBe(expected);

      const { profiles, sessions } = await sdkRead(home);
      expect(profiles["first"]).toMatchObject({ sso_account_id: "111111111111", sso_role_name: "Admin" });
      expect(profiles["second"]).toMatchObject({
        sso_account_id: "333333333333",
        sso_role_name: "DataScientist",
      });
      expect(profiles["dev.admin"]).toEqual({
        sso_session: "fake",
        sso_account_id: "222222222222",
        sso_role_name: "Admin",
        region: "ap-south-1",
        x_unknown_key: "keep me",
        output: "yaml",
      });
      expect(sessions["corp"]).toEqual({
        sso_start_url: "https://corp.awsapps.com/start#/",
        sso_region: "eu-central-1",
        sso_registration_scopes: "sso:account:access",
      });
      // The session's token was cached by the first run: later runs did not sign in again.
      expect(idc.count("/token", { operation: "device_code", status: 200 })).toBe(1);
    });
  });

  it("names the profile <role>-<account> when --profile is omitted", async ({ expect }) => {
    await withIdc(async (idc) => {
      await using home = await createHome();
      const result = await runCli(configureArgs({ "--profile": undefined }), cliEnv(home, idc));
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toContain('Wrote profile "DataScientist-333333333333"');
      const { profiles } = await sdkRead(home);
      expect(Object.keys(profiles)).toEqual(["sso-session.fake", "DataScientist-333333333333"]);
      expect(profiles["DataScientist-333333333333"]).toMatchObject({
        sso_session: "fake",
        sso_account_id: "333333333333",
        sso_role_name: "DataScientist",
      });
    });
  });

  it("creates ~/.aws/config (mode 0600) when there is none", async ({ expect }) => {
    await withIdc(async (idc) => {
      await using home = await createHome();
      await expectOk(expect, runCli(configureArgs(), cliEnv(home, idc)));
      const { stat } = await import("node:fs/promises");
      expect((await stat(home.configFile)).mode & 0o777).toBe(0o600);
      expect(await readConfig(home)).toBe(
        [
          "[sso-session fake]",
          `sso_start_url = ${START_URL}`,
          "sso_region = us-east-1",
          "sso_registration_scopes = sso:account:access",
          "",
          "[profile ds.prod]",
          "sso_session = fake",
          "sso_account_id = 333333333333",
          "sso_role_name = DataScientist",
          "region = eu-north-1",
          "output = yaml",
          "",
        ].join("\n"),
      );
    });
  });

  describe("refuses bad answers and leaves ~/.aws/config as it was", () => {
    /** Runs configure expecting failure; returns the stderr lines. Nothing in ~/.aws/config may change. */
    async function expectRefused(
      expect: ExpectStatic,
      idc: FakeIdc,
      args: string[],
      after?: (home: TestHome) => Promise<void>,
    ): Promise<{ message: string; next: string }> {
      await using home = await createHome();
      const original = VARIANTS["LF without a final newline"];
      await seedConfig(home, original);
      const result = await runCli(args, cliEnv(home, idc));
      expect(result.exitCode).not.toBe(0);
      expect(result.stdout).toBe("");
      expect(await readConfig(home)).toBe(original);
      const lines = result.stderr.split("\n");
      const message = lines.find((l) => l.startsWith("sso-docker: ")) ?? "";
      const next = lines.find((l) => l.startsWith("  next: ")) ?? "";
      expect(lines.filter((l) => l.startsWith("sso-docker: "))).toHaveLength(1);
      expect(lines.at(-1)).toBe(next);
      expect(lines.at(-2)).toBe(message);
      // No leftover lock or temp files next to the config.
      expect(
        Object.keys(await snapshotTree(join(home.home, ".aws"))).filter((p) => !p.startsWith("sso")),
      ).toEqual(["config"]);
      await after?.(home);
      return { message, next };
    }

    it("an unknown --account-id lists the accounts there are", async ({ expect }) => {
      await withIdc(async (idc) => {
        const { message, next } = await expectRefused(
          expect,
          idc,
          configureArgs({ "--account-id": "999999999999" }),
          async (home) => {
            // The sign-in was kept: with the right account, configure finishes without another one.
            await expectOk(expect, runCli(configureArgs(), cliEnv(home, idc)));
            expect(idc.count("/token", { operation: "device_code", status: 200 })).toBe(1);
            expect((await sdkRead(home)).profiles["ds.prod"]).toMatchObject({
              sso_account_id: "333333333333",
            });
          },
        );
        expect(message).toBe(
          `sso-docker: Account 999999999999 is not available to you in ${START_URL}. Available: 111111111111, 222222222222, 333333333333.`,
        );
        expect(next).toBe("  next: sso-docker configure --account-id <one of those>");
      });
    });

    it("an unknown --role-name lists the roles of that account", async ({ expect }) => {
      await withIdc(async (idc) => {
        const { message, next } = await expectRefused(expect, idc, configureArgs({ "--role-name": "Admin" }));
        expect(message).toBe(
          "sso-docker: Role Admin is not available to you in account 333333333333. Available: ReadOnlyAccess, PowerUserAccess, DataScientist.",
        );
        expect(next).toBe("  next: sso-docker configure --role-name <one of those>");
      });
    });

    for (const [flag, what] of [
      ["--sso-session", "SSO session name"],
      ["--start-url", "SSO start URL"],
      ["--sso-region", "SSO region"],
    ] as const) {
      it(`a missing ${flag} with no terminal names the flag`, async ({ expect }) => {
        await withIdc(async (idc) => {
          const { message, next } = await expectRefused(expect, idc, configureArgs({ [flag]: undefined }));
          expect(message).toBe(`sso-docker: ${what} is needed and there is no terminal to ask on.`);
          expect(next).toBe(`  next: pass ${flag}`);
          // Refused before any sign-in.
          expect(idc.requests).toEqual([]);
        });
      });
    }

    it("a missing --account-id with several accounts names the flag and the choices", async ({ expect }) => {
      await withIdc(async (idc) => {
        const { message, next } = await expectRefused(
          expect,
          idc,
          configureArgs({ "--account-id": undefined }),
        );
        expect(message).toBe(
          "sso-docker: Account (one of: 111111111111, 222222222222, 333333333333) is needed and there is no terminal to ask on.",
        );
        expect(next).toBe("  next: pass --account-id");
      });
    });

    it("a --start-url that is not a URL is refused before signing in", async ({ expect }) => {
      await withIdc(async (idc) => {
        const { message, next } = await expectRefused(
          expect,
          idc,
          configureArgs({ "--start-url": "corp.awsapps.com" }),
        );
        expect(message).toContain('--start-url "corp.awsapps.com"');
        expect(next).toBe("  next: pass a valid --start-url");
        expect(idc.requests).toEqual([]);
      });
    });

    it("a --profile name the SDKs cannot read is refused before signing in", async ({ expect }) => {
      await withIdc(async (idc) => {
        const { message, next } = await expectRefused(
          expect,
          idc,
          configureArgs({ "--profile": "my profile" }),
        );
        expect(message).toContain('--profile "my profile"');
        expect(next).toBe("  next: pass a valid --profile");
        expect(idc.requests).toEqual([]);
      });
    });
  });
});
