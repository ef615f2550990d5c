import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";

/** The AWS CLI v2 from Debian (2.9.19). A pip AWS CLI v1 may shadow `aws` on PATH, so never `aws`. */
export const AWS_CLI = "/usr/bin/aws";

/** Where the AWS CLI's bundled botocore keeps its service models. */
export const AWS_CLI_BOTOCORE_DATA = "/usr/lib/python3/dist-packages/awscli/botocore/data";

const API_VERSIONS = { sso: "2019-06-10", "sso-oidc": "2019-06-10", sts: "2011-06-15" } as const;
export type OverridableService = keyof typeof API_VERSIONS;
export const OVERRIDABLE_SERVICES = Object.keys(API_VERSIONS) as OverridableService[];

interface EndpointRuleSet {
  version: string;
  parameters: unknown;
  rules: unknown[];
}

/**
 * Files, by path relative to HOME, that send every request of `services` to `endpoint`
 * (e.g. "http://127.0.0.1:8123"), whatever the region. AWS CLI 2.9.19 and boto3 1.26 predate
 * AWS_ENDPOINT_URL_*, but botocore loads models from ~/.aws/models before its bundled data, so
 * an endpoint rule set there with a single unconditional rule wins. The bundled rule set is the
 * template so its parameters match the client's. Also usable for HOMEs inside containers.
 */
export async function buildEndpointOverrides(
  endpoint: string,
  services: readonly OverridableService[] = OVERRIDABLE_SERVICES,
  dataDir = AWS_CLI_BOTOCORE_DATA,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const service of services) {
    const file = join(service, API_VERSIONS[service], "endpoint-rule-set-1.json");
    const ruleSet = JSON.parse(await readFile(join(dataDir, file), "utf8")) as EndpointRuleSet;
    ruleSet.rules = [
      { conditions: [], endpoint: { url: endpoint, properties: {}, headers: {} }, type: "endpoint" },
    ];
    files.set(join(".aws", "models", file), `${JSON.stringify(ruleSet, null, 2)}\n`);
  }
  return files;
}

/** Writes `buildEndpointOverrides` into `home`; returns the absolute paths written. */
export async function writeAwsCliEndpointOverrides(
  home: string,
  endpoint: string,
  services: readonly OverridableService[] = OVERRIDABLE_SERVICES,
): Promise<string[]> {
  const written: string[] = [];
  for (const [relative, text] of await buildEndpointOverrides(endpoint, services)) {
    const path = join(home, relative);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    written.push(path);
  }
  return written;
}

export interface AwsCliOptions {
  /** HOME for the CLI: its ~/.aws (config, sso/cache, cli/cache, models) lives here. */
  home: string;
  /** Sets AWS_CONFIG_FILE. */
  configFile?: string;
  /** Added last, so it can override the defaults below (but nothing leaks from process.env). */
  env?: Readonly<Record<string, string>>;
  input?: string;
  /** Kills the CLI after this long (default 60 s): `aws sso login` waits for approval otherwise. */
  timeoutMs?: number;
}

export interface AwsCliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs the real AWS CLI with a clean environment: no AWS_* from the outer env, no pager, no
 * instance-metadata lookups (which would stall ~2 s when no credentials are found).
 * Resolves with the exit code rather than throwing on a non-zero one.
 */
export async function runAwsCli(args: readonly string[], options: AwsCliOptions): Promise<AwsCliResult> {
  const env: Record<string, string> = {
    HOME: options.home,
    PATH: "/usr/bin:/bin",
    LANG: "C.UTF-8",
    AWS_PAGER: "",
    AWS_EC2_METADATA_DISABLED: "true",
    ...(options.configFile === undefined ? {} : { AWS_CONFIG_FILE: options.configFile }),
    ...options.env,
  };
  const result = await execa(AWS_CLI, args, {
    env,
    extendEnv: false,
    cwd: options.home,
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
    ...stdinOptions(options.input),
  });
  if (result.timedOut) {
    throw new Error(`aws ${args.join(" ")} timed out\n${result.stderr}`);
  }
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}

function stdinOptions(input: string | undefined): { stdin: "ignore" } | { input: string } {
  return input === undefined ? { stdin: "ignore" } : { input };
}
