import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, NODE_DIR, REPO } from "./cli-support.js";

// Issue 10: the package's bin must work through npm's shims on every OS. On Windows npm writes a
// `.cmd` (and a `.ps1` and a sh script for Git Bash) from the bin's `#!` line with its own
// cmd-shim; a `#!/bin/sh` bin gives shims that call /bin/sh, which Windows lacks. This runs
// cmd-shim (a devDependency on the major npm 11 bundles, so the test does not depend on where a
// Node distribution keeps its npm) on the package's bin, reads the `.cmd` it writes, and runs the
// sh shim it writes, as Git Bash would.

type CmdShim = (from: string, to: string) => Promise<void>;

let dir: string;
let bin: string;

beforeAll(async () => {
  assertBuilt();
  const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as {
    bin: Record<string, string>;
  };
  bin = join(REPO, pkg.bin["sso-docker"] ?? "");
  const cmdShim = createRequire(import.meta.url)("cmd-shim") as CmdShim;
  dir = await mkdtemp(join(tmpdir(), "sso-docker-shim-"));
  await cmdShim(bin, join(dir, "sso-docker"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the sso-docker bin through npm's shims", () => {
  it("is a Node entry point, which the Windows .cmd shim runs with node", async () => {
    expect((await readFile(bin, "utf8")).split("\n")[0]).toBe("#!/usr/bin/env node");
    const cmd = await readFile(join(dir, "sso-docker.cmd"), "utf8");
    expect(cmd).not.toContain("/bin/sh");
    // `node` (node.exe beside the shim, else on PATH) with the bin's path and every argument.
    expect(cmd).toMatch(/SET "_prog=node"/);
    expect(cmd).toMatch(/"%_prog%" +"%dp0%\\[^"]*main\.js" %\*/);
  });

  it("runs through the sh shim npm writes for Git Bash", async () => {
    const version = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string })
      .version;
    const result = await execa("sh", [join(dir, "sso-docker"), "--version"], {
      env: { PATH: `${NODE_DIR}:/usr/bin:/bin` },
      extendEnv: false,
    });
    expect(result.stdout).toBe(version);
  });
});
