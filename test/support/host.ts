import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/runtime/clock.js";
import type { Deps } from "../../src/runtime/deps.js";
import { createDeps } from "../../src/runtime/deps.js";
import { silentLogger } from "../../src/runtime/logger.js";

/** A throw-away HOME with ~/.aws/config, for one test; `await using` removes it. */
export interface TestHome extends AsyncDisposable {
  home: string;
  configFile: string;
  /** HOME plus the endpoint overrides, nothing else from the outer environment. */
  env: Record<string, string>;
  deps(options?: { clock?: Clock; env?: Record<string, string> }): Deps;
}

export async function makeTestHome(
  options: { config?: string; endpointEnv?: Record<string, string> } = {},
): Promise<TestHome> {
  const home = await mkdtemp(join(tmpdir(), "sso-docker-test-"));
  const configFile = join(home, ".aws", "config");
  await mkdir(join(home, ".aws"), { recursive: true, mode: 0o700 });
  if (options.config !== undefined) await writeFile(configFile, options.config, { mode: 0o600 });
  const env = { HOME: home, PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...options.endpointEnv };
  return {
    home,
    configFile,
    env,
    deps: (o = {}) =>
      createDeps({
        env: { ...env, ...o.env },
        logger: silentLogger,
        platform: "linux",
        ...(o.clock ? { clock: o.clock } : {}),
      }),
    [Symbol.asyncDispose]: () => rm(home, { recursive: true, force: true }),
  };
}

/** `[profile NAME]` on `[sso-session SESSION]` (sso_region us-east-1), as `aws configure sso` writes it. */
export function ssoProfileConfig(options: {
  profile: string;
  session: string;
  startUrl: string;
  account?: string;
  role?: string;
  region?: string;
}): string {
  const {
    profile,
    session,
    startUrl,
    account = "111111111111",
    role = "AdministratorAccess",
    region,
  } = options;
  return [
    `[profile ${profile}]`,
    `sso_session = ${session}`,
    `sso_account_id = ${account}`,
    `sso_role_name = ${role}`,
    ...(region === undefined ? [] : [`region = ${region}`]),
    "",
    `[sso-session ${session}]`,
    `sso_start_url = ${startUrl}`,
    "sso_region = us-east-1",
    "",
  ].join("\n");
}

/** A config with one sso-session profile `dev` and one legacy profile `legacy`. */
export function sampleConfig(
  startUrl: string,
  account = "111111111111",
  role = "AdministratorAccess",
): string {
  return [
    "[profile dev]",
    "sso_session = my-sso",
    `sso_account_id = ${account}`,
    `sso_role_name = ${role}`,
    "region = eu-west-1",
    "",
    "[sso-session my-sso]",
    `sso_start_url = ${startUrl}`,
    "sso_region = us-east-1",
    "sso_registration_scopes = sso:account:access",
    "",
    "[profile legacy]",
    `sso_start_url = ${startUrl}`,
    "sso_region = us-east-1",
    `sso_account_id = ${account}`,
    `sso_role_name = ${role}`,
    "",
  ].join("\n");
}
