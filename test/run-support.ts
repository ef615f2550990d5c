import { mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll } from "vitest";
import { agentFiles } from "../src/agent/agent-files.js";
import { runningAgentPid } from "../src/agent/agent-lock.js";
import { RUN_HELPER_PATH, TMPFS_SECRET_DIR } from "../src/delivery/paths.js";
import { locateEngine } from "../src/docker/engine-options.js";
import { startFakeIdc, type FakeIdc, type Lifetimes } from "../src/fake-idc/index.js";
import { assertBuilt, BIN, CLI, createHome, NODE_DIR, seedToken, type TestHome } from "./cli-support.js";
import { sweepTestContainers, TEST_LABEL, testRunId } from "./support/docker.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS, type TestImages } from "./support/images.js";

/**
 * Shared by the test/run-*.test.ts suites: the built `sso-docker run` as a subprocess in a
 * temp HOME signed in to a fake IAM Identity Center that containers reach on the host gateway.
 * The first run starts the HOME's own agent (one per engine and user, kept under the HOME);
 * disposing the fixture stops it.
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
  /** The pid of this HOME's agent for the engine, while one runs. */
  agentPid(): Promise<number | undefined>;
  /** This HOME's agent log (a detached agent writes its own). */
  agentLog(): Promise<string>;
  /** `sso-docker agent --detach` in this HOME, so that runs find it running. */
  startAgent(): Promise<void>;
  /** `sso-docker agent stop` in this HOME; disposing does it too. */
  stopAgent(): Promise<void>;
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

/** How containers of the engine under test reach the host, where the fake runs. */
export interface RunEngine {
  /** Added to the CLI's environment (DOCKER_HOST, …). */
  env: Record<string, string>;
  /** `docker run` options that make `hostName` resolve to the host. */
  hostArgs: readonly string[];
  hostName: string;
}

export const DOCKER_RUN_ENGINE: RunEngine = {
  env: {},
  hostArgs: ["--add-host", "host.docker.internal:host-gateway"],
  hostName: "host.docker.internal",
};

/** `run <args>`, labelled for the sweep, with the host gateway added (the fake runs on the host). */
export function runArgv(args: readonly string[], hostArgs = DOCKER_RUN_ENGINE.hostArgs): string[] {
  return ["run", "--label", `${TEST_LABEL}=${testRunId}`, ...hostArgs, ...args];
}

export async function startRunFixture(
  lifetimes: Partial<Lifetimes> = {},
  engine: RunEngine = DOCKER_RUN_ENGINE,
): Promise<RunFixture> {
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
    ...engine.env,
  };
  const port = new URL(idc.url).port;
  const files = agentFiles(env, home.home, locateEngine({ env, home: home.home }).host);
  const agentCommand = async (args: readonly string[]) => {
    const result = await execa(process.execPath, [CLI, "agent", ...args], {
      env,
      extendEnv: false,
      reject: false,
    });
    if (result.exitCode !== 0) throw new Error(`sso-docker agent ${args.join(" ")} failed: ${result.stderr}`);
  };
  const stopAgent = () => agentCommand(["stop"]);
  return {
    idc,
    home,
    images,
    env,
    endpoint: `http://${engine.hostName}:${port}`,
    async run(args, options = {}) {
      const result = await execa(
        BIN,
        [...(options.debug === true ? ["--debug"] : []), ...runArgv(args, engine.hostArgs)],
        {
          env: { ...env, ...options.env },
          extendEnv: false,
          stdin: "ignore",
          reject: false,
          timeout: options.timeoutMs ?? 60_000,
        },
      );
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
    agentPid: () => runningAgentPid(files),
    agentLog: () => readFile(files.logFile, "utf8").catch(() => ""),
    startAgent: () => agentCommand(["--detach", "--no-browser"]),
    stopAgent,
    async [Symbol.asyncDispose]() {
      await stopAgent();
      await idc.close();
      await home[Symbol.asyncDispose]();
    },
  };
}

/**
 * The credentials the agent pushed into a `sso-docker run` container for `profile`, read as its
 * own user through the helper, which waits for the first push (up to 15 s).
 */
export async function pushedCredentials(id: string, profile: string): Promise<{ AccessKeyId: string }> {
  const read = await execa(
    "docker",
    ["exec", id, "sh", RUN_HELPER_PATH, `${TMPFS_SECRET_DIR}/${profile}.json`],
    {
      reject: false,
    },
  );
  if (read.exitCode !== 0) throw new Error(`no ${profile} credentials in ${id.slice(0, 12)}: ${read.stderr}`);
  return JSON.parse(read.stdout) as { AccessKeyId: string };
}

/**
 * One fixture for a test file: started before its tests (the test images built if missing), its
 * containers swept and its agent stopped after them. Call the returned function in a test.
 */
export function runFixtureForFile(lifetimes: Partial<Lifetimes> = {}): () => RunFixture {
  let fx: RunFixture | undefined;
  beforeAll(async () => {
    fx = await startRunFixture(lifetimes);
  }, IMAGE_BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await sweepTestContainers();
    await fx?.[Symbol.asyncDispose]();
  });
  return () => {
    if (fx === undefined) throw new Error("the file's run fixture has not started");
    return fx;
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

export interface HostProcess {
  pid: number;
  ppid: number;
  /** The executable's path (/proc/PID/exe). */
  exe: string;
  args: string[];
}

/** Host processes whose environment has HOME=`home`: what a fixture's commands left running. */
export async function processesOfHome(home: string): Promise<HostProcess[]> {
  const found: HostProcess[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = (await readFile(`/proc/${entry}/environ`, "utf8")).split("\0");
      if (!environ.includes(`HOME=${home}`)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const args = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0").filter(Boolean);
      found.push({ pid: Number(entry), ppid, exe: await readlink(`/proc/${entry}/exe`), args });
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}
