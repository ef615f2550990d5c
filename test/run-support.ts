import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { startFakeIdc, type FakeIdc, type Lifetimes } from "../src/fake-idc/index.js";
import { assertBuilt, createHome, FRONT, NODE_DIR, seedToken, type TestHome } from "./cli-support.js";
import { TEST_LABEL, testRunId } from "./support/docker.js";
import { ensureTestImages, type TestImages } from "./support/images.js";

/**
 * Shared by the test/run-*.test.ts suites: the built `sso-docker run` as a subprocess in a
 * temp HOME signed in to a fake IAM Identity Center that containers reach on the host gateway.
 */

/** Two profiles of one sso-session with different roles in different accounts. */
export const PROFILES = {
  dev: { account: "111111111111", role: "AdministratorAccess", region: "eu-west-1" },
  ops: { account: "222222222222", role: "ReadOnlyAccess", region: "us-east-2" },
} as const;
export type ProfileName = keyof typeof PROFILES;

export const arnOf = (name: ProfileName) =>
  `arn:aws:sts::${PROFILES[name].account}:assumed-role/${PROFILES[name].role}/developer`;

export interface RunFixture extends AsyncDisposable {
  idc: FakeIdc;
  home: TestHome;
  images: TestImages;
  /** The CLI's whole environment: HOME, PATH and the fake's endpoints, nothing else. */
  env: Record<string, string>;
  /** The fake as a container sees it. */
  endpoint: string;
  /** `sso-docker [--debug] run <args>`, labelled for the sweep, with the host gateway added. */
  run(args: readonly string[], options?: RunOptions): Promise<CliResult>;
  /** Secret values of every role credential the host holds (its ~/.aws/cli/cache). */
  hostSecrets(): Promise<string[]>;
}

export interface CliResult {
  stdout: string;
  stderr: string;
  /** -1 when the CLI was killed (timeout). */
  exitCode: number;
}

export interface RunOptions {
  debug?: boolean;
  env?: Record<string, string>;
  /** Kills the CLI after this long (default 60 s). */
  timeoutMs?: number;
}

/** `run <args>`, labelled for the sweep, with the host gateway added (the fake runs on the host). */
export function runArgv(args: readonly string[]): string[] {
  return [
    "run",
    "--label",
    `${TEST_LABEL}=${testRunId}`,
    "--add-host",
    "host.docker.internal:host-gateway",
    ...args,
  ];
}

export async function startRunFixture(lifetimes: Partial<Lifetimes> = {}): Promise<RunFixture> {
  assertBuilt();
  const [images, idc, home] = await Promise.all([
    ensureTestImages(),
    startFakeIdc({ host: "0.0.0.0", autoApprove: true, lifetimes }),
    createHome(),
  ]);
  const owner = { sessionName: "corp", startUrl: idc.startUrl, region: "us-east-1" };
  await mkdir(home.ssoCacheDir, { recursive: true, mode: 0o700 });
  await writeFile(
    home.configFile,
    [
      ...Object.entries(PROFILES).flatMap(([name, p]) => [
        `[profile ${name}]`,
        "sso_session = corp",
        `sso_account_id = ${p.account}`,
        `sso_role_name = ${p.role}`,
        `region = ${p.region}`,
        "",
      ]),
      "[sso-session corp]",
      `sso_start_url = ${idc.startUrl}`,
      "sso_region = us-east-1",
      "sso_registration_scopes = sso:account:access",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  await seedToken(home, owner, idc.createSession());
  const env = {
    PATH: `${NODE_DIR}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    HOME: home.home,
    ...idc.endpointEnv(),
  };
  const port = new URL(idc.url).port;
  return {
    idc,
    home,
    images,
    env,
    endpoint: `http://host.docker.internal:${port}`,
    async run(args, options = {}) {
      const result = await execa(FRONT, [...(options.debug === true ? ["--debug"] : []), ...runArgv(args)], {
        env: { ...env, ...options.env },
        extendEnv: false,
        stdin: "ignore",
        reject: false,
        timeout: options.timeoutMs ?? 60_000,
      });
      return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
    },
    async hostSecrets() {
      const files = await readdir(home.cliCacheDir).catch(() => []);
      const secrets: string[] = [];
      for (const file of files) {
        const cached = JSON.parse(await readFile(join(home.cliCacheDir, file), "utf8")) as {
          Credentials?: { SecretAccessKey?: string; SessionToken?: string };
        };
        const c = cached.Credentials;
        if (c?.SecretAccessKey !== undefined) secrets.push(c.SecretAccessKey);
        if (c?.SessionToken !== undefined) secrets.push(c.SessionToken);
      }
      return secrets;
    },
    async [Symbol.asyncDispose]() {
      await idc.close();
      await home[Symbol.asyncDispose]();
    },
  };
}

/** The AWS CLI asking STS who it is, printing only the ARN; add `--endpoint-url`, `--profile`, … */
export const awsCallerArn = (...args: string[]) => [
  "aws",
  "sts",
  "get-caller-identity",
  "--output",
  "text",
  "--query",
  "Arn",
  ...args,
];

/** The JS SDK v3 default chain in the container, against the fake's STS. */
export const JS_CALLER_IDENTITY = `
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const client = new STSClient({ endpoint: process.argv[1] });
client.send(new GetCallerIdentityCommand({})).then(
  (r) => console.log(r.Arn),
  (e) => { console.error(e.name + ": " + e.message); process.exit(1); },
);`;

/** boto3's default chain in the container, against the fake's STS. */
export const PY_CALLER_IDENTITY = `
import sys, boto3
print(boto3.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"])`;
