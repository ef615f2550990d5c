import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromSSO } from "@aws-sdk/credential-providers";
import { describe, expect, it } from "vitest";
import type { LoginUi } from "../src/auth/login.js";
import { login } from "../src/auth/login.js";
import { registrationCachePath, readRegistration } from "../src/aws-files/registration-cache.js";
import { readSsoToken, tokenCachePath } from "../src/aws-files/token-cache.js";
import { CredentialSource } from "../src/credentials/credential-source.js";
import { resolveProfile } from "../src/credentials/resolve-profile.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import { runAwsCli, writeAwsCliEndpointOverrides } from "./support/aws-cli.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome, sampleConfig } from "./support/host.js";

const approvingUi = (idc: FakeIdc): LoginUi => ({
  devicePrompt: (p) => {
    idc.approveDevice(p.userCode);
  },
  authorizePrompt: () => undefined,
});

async function homeForBoth(idc: FakeIdc): Promise<TestHome> {
  const home = await makeTestHome({ config: sampleConfig(idc.startUrl), endpointEnv: idc.endpointEnv() });
  await writeAwsCliEndpointOverrides(home.home, idc.url);
  return home;
}

describe("with the real AWS CLI v2", () => {
  it("sso-docker uses a login made by `aws sso login`, without a new login", async () => {
    await using idc = await startFakeIdc();
    await using home = await homeForBoth(idc);
    const cli = runAwsCli(["sso", "login", "--profile", "dev", "--no-browser"], {
      home: home.home,
      configFile: home.configFile,
    });
    const authorization = await idc.nextDeviceAuthorization();
    idc.approveDevice(authorization.userCode);
    const result = await cli;
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.exitCode).toBe(0);

    const deps = home.deps({ env: { SSH_TTY: "/dev/pts/0" } });
    const resolved = await resolveProfile(deps, "dev");
    // The CLI's files sit exactly where sso-docker looks, and parse.
    const token = await readSsoToken(tokenCachePath(deps.paths.ssoCacheDir, resolved.session));
    expect(token?.startUrl).toBe(idc.startUrl);
    const cliTokenText = await readFile(tokenCachePath(deps.paths.ssoCacheDir, resolved.session), "utf8");
    expect(Object.keys(JSON.parse(cliTokenText) as object)).toEqual(
      [
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
        "refreshToken",
      ].filter((key) => cliTokenText.includes(`"${key}"`)),
    );
    const registration = await readRegistration(
      registrationCachePath(deps.paths.ssoCacheDir, {
        startUrl: idc.startUrl,
        region: "us-east-1",
        sessionName: "my-sso",
        scopes: ["sso:account:access"],
      }),
    );
    expect(registration?.clientId).toBe(token?.clientId);

    const credentials = await new CredentialSource(deps, { useCliCache: false }).get(resolved);
    expect(idc.issuedCredentials().map((c) => c.accessKeyId)).toContain(credentials.accessKeyId);
    expect(idc.count("/device_authorization")).toBe(1);
  });

  it("`aws configure export-credentials` uses a login made by sso-docker, and shares the role-credential cache", async () => {
    await using idc = await startFakeIdc();
    await using home = await homeForBoth(idc);
    const deps = home.deps({ env: { SSH_TTY: "/dev/pts/0" } });
    const resolved = await resolveProfile(deps, "dev");
    await login(deps, resolved.session, {
      ui: approvingUi(idc),
      oidcEndpoint: resolved.endpoints.oidc,
      openBrowser: false,
    });

    const exported = await runAwsCli(
      ["configure", "export-credentials", "--profile", "dev", "--format", "process"],
      {
        home: home.home,
        configFile: home.configFile,
      },
    );
    expect(exported.stderr).toBe("");
    expect(exported.exitCode).toBe(0);
    const fromCli = JSON.parse(exported.stdout) as { AccessKeyId: string; Version: number };
    expect(fromCli.Version).toBe(1);
    expect(idc.issuedCredentials().map((c) => c.accessKeyId)).toContain(fromCli.AccessKeyId);
    expect(idc.count("/device_authorization")).toBe(1);

    // The CLI cached those role credentials in ~/.aws/cli/cache; sso-docker reads them from there.
    const cached = await readdir(join(home.home, ".aws", "cli", "cache"));
    expect(cached).toHaveLength(1);
    const before = idc.count("/federation/credentials");
    const ours = await new CredentialSource(deps).get(resolved);
    expect(ours.accessKeyId).toBe(fromCli.AccessKeyId);
    expect(idc.count("/federation/credentials")).toBe(before);
  });
});

describe("with the AWS SDK for JavaScript", () => {
  it("fromSSO reads the token sso-docker wrote, and the credentials sign an STS call", async () => {
    await using idc = await startFakeIdc();
    await using home = await makeTestHome({
      config: sampleConfig(idc.startUrl),
      endpointEnv: idc.endpointEnv(),
    });
    const deps = home.deps({ env: { SSH_TTY: "/dev/pts/0" } });
    const resolved = await resolveProfile(deps, "dev");
    await login(deps, resolved.session, {
      ui: approvingUi(idc),
      oidcEndpoint: resolved.endpoints.oidc,
      openBrowser: false,
    });

    // fromSSO finds ~/.aws/sso/cache through HOME.
    const savedHome = process.env["HOME"];
    process.env["HOME"] = home.home;
    try {
      const provider = fromSSO({
        profile: "dev",
        configFilepath: home.configFile,
        filepath: join(home.home, ".aws", "credentials"),
        ignoreCache: true,
        clientConfig: { endpoint: idc.url, region: "us-east-1" },
      });
      const credentials = await provider();
      expect(idc.issuedCredentials().map((c) => c.accessKeyId)).toContain(credentials.accessKeyId);
      const sts = new STSClient({ region: "us-east-1", endpoint: idc.url, credentials });
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      expect(identity.Arn).toMatch(/:assumed-role\/AdministratorAccess\//);
      expect(identity.Account).toBe("111111111111");
    } finally {
      process.env["HOME"] = savedHome;
    }
  });
});
