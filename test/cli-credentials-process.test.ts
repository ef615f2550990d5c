import { appendFile, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeIdc, type FakeIdc } from "../src/fake-idc/index.js";
import { assertBuilt, CLI, cliEnv, createHome, REPO, runCli, type TestHome } from "./cli-support.js";

// `sso-docker credentials` as a host credential_process: the JS SDK's fromProcess runs it through
// a shell, and the credentials it prints sign an STS call the fake verifies (SigV4).

const ACCOUNT = "222222222222";
const ROLE = "PowerUserAccess";
const PROFILE = "app";

let idc: FakeIdc;
let home: TestHome;
let env: Record<string, string>;

beforeAll(async () => {
  assertBuilt();
  idc = await startFakeIdc({ autoApprove: true });
  home = await createHome();
  env = cliEnv(home, idc);
  const configure = await runCli(
    [
      "configure",
      "--sso-session",
      "corp",
      "--start-url",
      idc.startUrl,
      "--sso-region",
      "us-east-1",
      "--account-id",
      ACCOUNT,
      "--role-name",
      ROLE,
      "--region",
      "eu-west-1",
      "--output",
      "json",
      "--profile",
      PROFILE,
      "--use-device-code",
      "--no-browser",
    ],
    env,
  );
  expect(configure.exitCode, configure.stderr).toBe(0);
  // The shell the SDK uses splits on spaces: quote both paths.
  await appendFile(
    home.configFile,
    `\n[profile via-process]\ncredential_process = "${process.execPath}" "${CLI}" credentials --profile ${PROFILE}\n`,
  );
});

afterAll(async () => {
  await idc.close();
  await home[Symbol.asyncDispose]();
});

interface ProcessOutput {
  Version: number;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

const getRoleCredentialsCalls = () => idc.count("/federation/credentials");

async function cacheFiles(): Promise<string[]> {
  return (await readdir(home.cliCacheDir)).filter((name) => name.endsWith(".json"));
}

describe("sso-docker credentials", () => {
  let first: ProcessOutput;

  it("prints credential_process JSON (Version 1, Expiration) and caches it as the AWS CLI does", async () => {
    const before = getRoleCredentialsCalls();
    const result = await runCli(["credentials", "--profile", PROFILE], env);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    first = JSON.parse(result.stdout) as ProcessOutput;
    expect(Object.keys(first)).toEqual([
      "Version",
      "AccessKeyId",
      "SecretAccessKey",
      "SessionToken",
      "Expiration",
    ]);
    expect(first.Version).toBe(1);
    expect(first.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The fake's default role credentials live one hour.
    expect(Date.parse(first.Expiration) - Date.now()).toBeGreaterThan(3500_000);
    expect(Date.parse(first.Expiration) - Date.now()).toBeLessThanOrEqual(3600_000);

    expect(getRoleCredentialsCalls() - before).toBe(1);
    const issued = idc.issuedCredentials().find((c) => c.accessKeyId === first.AccessKeyId);
    expect(issued).toMatchObject({ accountId: ACCOUNT, roleName: ROLE });

    const files = await cacheFiles();
    expect(files).toHaveLength(1);
    const path = join(home.cliCacheDir, files[0]!);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(home.cliCacheDir)).mode & 0o777).toBe(0o700);
    const cached = JSON.parse(await readFile(path, "utf8")) as unknown;
    expect(cached).toEqual({
      ProviderType: "sso",
      Credentials: {
        AccessKeyId: first.AccessKeyId,
        SecretAccessKey: first.SecretAccessKey,
        SessionToken: first.SessionToken,
        Expiration: first.Expiration,
      },
    });
  });

  it("serves a second call from ~/.aws/cli/cache without calling GetRoleCredentials", async () => {
    const before = idc.requests.length;
    const result = await runCli(["credentials", "--profile", PROFILE], env);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(first);
    // Not even a token refresh: nothing reached the fake.
    expect(idc.requests.slice(before)).toEqual([]);
  });

  it("--format env and env-no-export print shell assignments", async () => {
    const exported = await runCli(["credentials", "--profile", PROFILE, "--format", "env"], env);
    expect(exported.exitCode, exported.stderr).toBe(0);
    expect(exported.stdout.split("\n")).toEqual([
      `export AWS_ACCESS_KEY_ID=${first.AccessKeyId}`,
      `export AWS_SECRET_ACCESS_KEY=${first.SecretAccessKey}`,
      `export AWS_SESSION_TOKEN=${first.SessionToken}`,
      `export AWS_CREDENTIAL_EXPIRATION=${first.Expiration}`,
    ]);
    const plain = await runCli(["credentials", "--profile", PROFILE, "--format", "env-no-export"], env);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toBe(exported.stdout.replaceAll("export ", ""));
    // What a shell makes of it: `eval "$(sso-docker credentials --format env)"`.
    const shell = await execa("sh", ["-c", `${exported.stdout}\nprintf %s "$AWS_SECRET_ACCESS_KEY"`], {
      env: { PATH: env["PATH"] ?? "" },
      extendEnv: false,
    });
    expect(shell.stdout).toBe(first.SecretAccessKey);
  });

  it("--format json adds the profile, account and role", async () => {
    const result = await runCli(["credentials", "--profile", PROFILE, "--format", "json"], env);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      ...first,
      Profile: PROFILE,
      AccountId: ACCOUNT,
      RoleName: ROLE,
    });
  });

  it("honours AWS_PROFILE when --profile is omitted", async () => {
    const result = await runCli(["credentials"], { ...env, AWS_PROFILE: PROFILE });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(first);
  });

  it("as a credential_process, signs an STS GetCallerIdentity the fake accepts", async () => {
    // A cold cache, so this run goes the whole way: token cache → GetRoleCredentials → process output.
    await rm(home.cliCacheDir, { recursive: true });
    const before = getRoleCredentialsCalls();
    const script = `
      import { fromProcess } from "@aws-sdk/credential-providers";
      import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
      const sts = new STSClient({
        region: "us-east-1",
        endpoint: process.env.FAKE_IDC_URL,
        credentials: fromProcess({ profile: "via-process" }),
      });
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      const used = await sts.config.credentials();
      console.log(JSON.stringify({ arn: identity.Arn, account: identity.Account, accessKeyId: used.accessKeyId }));
    `;
    const child = await execa(process.execPath, ["--input-type=module", "-e", script], {
      cwd: REPO,
      env: { ...env, FAKE_IDC_URL: idc.url, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      extendEnv: false,
      reject: false,
    });
    expect(child.exitCode, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout) as { arn: string; account: string; accessKeyId: string };
    expect(out.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/developer`);
    expect(out.account).toBe(ACCOUNT);
    // Fresh credentials, fetched once by the credential_process, accepted by the fake's SigV4 check.
    expect(out.accessKeyId).not.toBe(first.AccessKeyId);
    expect(getRoleCredentialsCalls() - before).toBe(1);
    expect(idc.issuedCredentials().map((c) => c.accessKeyId)).toContain(out.accessKeyId);
    expect(idc.count("/", { operation: "GetCallerIdentity", status: 200 })).toBe(1);
    expect(await cacheFiles()).toHaveLength(1);
  });
});
