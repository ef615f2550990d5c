import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { isoSeconds } from "../src/runtime/time-format.js";
import { tokenCachePath, writeSsoToken } from "../src/aws-files/token-cache.js";
import type { FakeIdc, SeededSession } from "../src/fake-idc/index.js";

/** Helpers shared by the test/cli-*.test.ts suites: the built CLI as a subprocess in a temp HOME. */

export const REPO = fileURLToPath(new URL("..", import.meta.url));
export const CLI = join(REPO, "dist", "bin", "main.js");
/**
 * The installed command, package.json's bin: main.js run through its `#!/usr/bin/env node` line,
 * so with PATH starting at NODE_DIR it runs on this test's node.
 */
export const BIN = CLI;
export const NODE_DIR = dirname(process.execPath);

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first.`);
}

export interface TestHome extends AsyncDisposable {
  home: string;
  configFile: string;
  ssoCacheDir: string;
  cliCacheDir: string;
}

export async function createHome(): Promise<TestHome> {
  const home = await mkdtemp(join(tmpdir(), "sso-docker-cli-"));
  return {
    home,
    configFile: join(home, ".aws", "config"),
    ssoCacheDir: join(home, ".aws", "sso", "cache"),
    cliCacheDir: join(home, ".aws", "cli", "cache"),
    [Symbol.asyncDispose]: () => rm(home, { recursive: true, force: true }),
  };
}

/** A clean environment: nothing from the outer shell but PATH, so no stray AWS_* leaks in. */
export function cliEnv(home: TestHome, idc?: FakeIdc, extra: Record<string, string> = {}) {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: home.home,
    AWS_CONFIG_FILE: home.configFile,
    ...(idc ? idc.endpointEnv() : {}),
    ...extra,
  };
}

/** `node dist/cli/main.js …` with no TTY on stdin; never rejects, the caller checks exitCode. */
export function runCli(args: readonly string[], env: Record<string, string>) {
  return execa(process.execPath, [CLI, ...args], {
    env,
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: 40_000,
  });
}

/** Relative path → sha256 of every file under `dir` (directories as "dir"), to prove nothing changed. */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const key = relative(dir, path);
    out[key] = entry.isDirectory()
      ? "dir"
      : createHash("sha256")
          .update(await readFile(path))
          .digest("hex");
  }
  return out;
}

export interface SessionOwner {
  sessionName?: string;
  startUrl: string;
  region: string;
}

/** Signs a test HOME in to one sso-session of the fake, as `aws sso login` would have. */
export async function signIn(
  paths: Pick<TestHome, "ssoCacheDir">,
  idc: FakeIdc,
  sessionName: string,
): Promise<SeededSession> {
  const seeded = idc.createSession();
  await seedToken(paths, { sessionName, startUrl: idc.startUrl, region: "us-east-1" }, seeded);
  return seeded;
}

/** Writes a fake-IdC session into the token cache exactly as `aws sso login` would. */
export async function seedToken(
  home: Pick<TestHome, "ssoCacheDir">,
  owner: SessionOwner,
  seeded: SeededSession,
  overrides: { expiresAt?: number; refreshToken?: string | null } = {},
): Promise<string> {
  const path = tokenCachePath(home.ssoCacheDir, owner);
  const refreshToken =
    overrides.refreshToken === null ? undefined : (overrides.refreshToken ?? seeded.refreshToken);
  await writeSsoToken(path, {
    startUrl: owner.startUrl,
    region: owner.region,
    accessToken: seeded.accessToken,
    expiresAt: isoSeconds(overrides.expiresAt ?? seeded.expiresAt),
    clientId: seeded.clientId,
    clientSecret: seeded.clientSecret,
    registrationExpiresAt: isoSeconds(seeded.registrationExpiresAt),
    ...(refreshToken === undefined ? {} : { refreshToken }),
  });
  return path;
}

/** The secrets of a seeded session: none may ever be printed. */
export function secretsOf(seeded: SeededSession): string[] {
  return [seeded.accessToken, seeded.clientSecret, ...(seeded.refreshToken ? [seeded.refreshToken] : [])];
}
