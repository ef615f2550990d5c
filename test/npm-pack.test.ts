import { mkdtemp, readFile, readdir, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, REPO } from "./cli-support.js";
import { arnOf, awsCallerArn, runArgv, runFixtureForFile } from "./run-support.js";

// What `npm install -g sso-docker` gives a user: the tarball `npm pack` makes of this checkout,
// installed into a throw-away global prefix, and that installed command (not the checkout's
// dist/) signing in to the fake IAM Identity Center and running a container whose AWS CLI signs
// an STS call with the credentials the installed agent pushed.
// The install is --prefer-offline: the dependency tarballs mostly come from npm's cache, but a
// global install resolves version ranges (it ignores package-lock.json), which needs the
// registry's package metadata that `npm ci` never fetches — a first run on a machine reaches the
// npm registry once.

const fx = runFixtureForFile();
let work: string | undefined;
let tarball: string;
let packed: string[];
let prefix: string;
let installed: string;

beforeAll(async () => {
  assertBuilt();
  work = await mkdtemp(join(tmpdir(), "sso-docker-npm-pack-"));
  const pack = await execa("npm", ["pack", "--json", "--pack-destination", work], { cwd: REPO });
  const [report] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  if (report === undefined) throw new Error(`npm pack reported nothing:\n${pack.stdout}`);
  tarball = join(work, report.filename);
  packed = report.files.map((f) => f.path);
  prefix = join(work, "prefix");
  const install = await execa(
    "npm",
    ["install", "--global", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball],
    { cwd: work, reject: false, all: true, timeout: 240_000 },
  );
  if (install.exitCode !== 0) throw new Error(`npm install -g of ${tarball} failed:\n${install.all}`);
  installed = join(prefix, "bin", "sso-docker");
}, 300_000);

afterAll(async () => {
  // The installed agent runs from the prefix: stopped before the prefix goes.
  await fx().stopAgent();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** The installed `sso-docker` in the fixture's HOME, through its `#!/usr/bin/env node` line. */
const sso = (args: readonly string[]) =>
  execa(installed, args, {
    env: fx().env,
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: 90_000,
  });

describe("the npm tarball", () => {
  it("holds the bundled CLI, the Feature and the demo's image recipes, and no tests, sources or tsc output", () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "dist/bin/main.js",
        "dist/bin/run-entry.js",
        "devcontainer-feature/src/sso-docker/devcontainer-feature.json",
        "devcontainer-feature/src/sso-docker/install.sh",
        // `sso-docker demo` builds its images from these.
        "docker/build-test-images.sh",
      ]),
    );
    // The command runs from dist/bin alone (esbuild's bundle): tsc's per-module output and its
    // source maps beside it, and the test-only Podman setup script, stay out.
    const stray = packed.filter(
      (path) =>
        !/^(package\.json|README\.md|LICENSE|docker\/build-test-images\.sh)$/.test(path) &&
        !/^(dist\/bin|devcontainer-feature\/src|docker\/images)\//.test(path),
    );
    expect(stray).toEqual([]);
    expect(
      packed.filter((path) =>
        /(^|\/)(test|src)\/|\.test\.|\.ts$|\.map$/.test(path.replace(/^devcontainer-feature\/src\//, "")),
      ),
    ).toEqual([]);
  });

  it("installs a command that runs from the global prefix, not from this checkout", async () => {
    const target = await realpath(installed);
    expect(target).toBe(join(prefix, "lib", "node_modules", "sso-docker", "dist", "bin", "main.js"));
    const version = await sso(["--version"]);
    expect(version.exitCode, version.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(manifest.version);
  });

  it("signs in, prints credentials and runs a container whose AWS CLI signs with them", async () => {
    // The fixture seeded a token: gone, so the credentials can only come from this login.
    for (const file of await readdir(fx().home.ssoCacheDir)) await rm(join(fx().home.ssoCacheDir, file));
    const before = await sso(["credentials", "--profile", "dev"]);
    expect(before.exitCode).not.toBe(0);
    expect(before.stderr).toContain("sso-docker login --profile dev");

    const login = await sso(["login", "--profile", "dev", "--use-device-code", "--no-browser"]);
    expect(login.exitCode, login.stderr).toBe(0);

    const credentials = await sso(["credentials", "--profile", "dev"]);
    expect(credentials.exitCode, credentials.stderr).toBe(0);
    expect(JSON.parse(credentials.stdout)).toMatchObject({
      Version: 1,
      AccessKeyId: expect.stringMatching(/^ASIA/) as unknown,
    });

    const run = await sso(
      runArgv([
        "--rm",
        "--profile",
        "dev",
        fx().images.debianAws,
        ...awsCallerArn("--endpoint-url", fx().endpoint),
      ]),
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(arnOf("dev"));

    // The agent the run started is the installed package's, not this checkout's.
    const pid = await fx().agentPid();
    expect(pid).toBeDefined();
    const args = (await readFile(`/proc/${String(pid)}/cmdline`, "utf8")).split("\0");
    expect(args).toContain(join(prefix, "lib", "node_modules", "sso-docker", "dist", "bin", "main.js"));
  }, 180_000);
});
