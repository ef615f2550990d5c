import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execa } from "execa";
import { startFakeIdc } from "../dist/fake-idc/index.js";

export const CLI = fileURLToPath(new URL("../dist/bin/main.js", import.meta.url));
/** The installed command, package.json's bin: main.js, run through its `#!/usr/bin/env node`. */
export const BIN = CLI;

/** A fake IAM Identity Center and a HOME signed in to profile `dev`; `close()` removes both. */
export async function signedInHome(fakeOptions = {}) {
  const idc = await startFakeIdc({ autoApprove: true, ...fakeOptions });
  const home = await mkdtemp(join(tmpdir(), "sso-docker-bench-"));
  await mkdir(join(home, ".aws"), { recursive: true });
  await writeFile(
    join(home, ".aws", "config"),
    `[profile dev]\nsso_session = my-sso\nsso_account_id = 111111111111\nsso_role_name = AdministratorAccess\nregion = us-east-1\n\n[sso-session my-sso]\nsso_start_url = ${idc.startUrl}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n`,
  );
  const env = {
    HOME: home,
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    AWS_PAGER: "",
    AWS_EC2_METADATA_DISABLED: "true",
    ...idc.endpointEnv(),
  };
  await execa(process.execPath, [CLI, "login", "--profile", "dev", "--use-device-code", "--no-browser"], {
    env,
    extendEnv: false,
  });
  return {
    idc,
    home,
    env,
    close: async () => {
      await idc.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Wall time of one command, in ms. */
export async function timeCommand(file, args, options) {
  const start = process.hrtime.bigint();
  const result = await execa(file, args, options);
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

export async function busyboxImage() {
  const script = fileURLToPath(new URL("../docker/images/busybox/build.sh", import.meta.url));
  return (await execa("sh", [script])).stdout.trim();
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The test suite's own support modules (test/support/*.ts), compiled for a plain-node bench so it
 * uses the same fakes as the tests rather than a copy. The bundle sits two levels below the repo
 * root, as test/support does, so their `new URL("../../docker/…", import.meta.url)` paths still
 * resolve; packages resolve from the repo's node_modules. `exports` names what to re-export:
 * { "./test/support/fake-platform.js": ["createFakePlatform"], … }.
 */
export async function importTestSupport(exports) {
  const { build } = await import("esbuild");
  const outfile = join(ROOT, ".tmp", "bench", "test-support.mjs");
  await build({
    absWorkingDir: ROOT,
    stdin: {
      contents: Object.entries(exports)
        .map(([file, names]) => `export { ${names.join(", ")} } from ${JSON.stringify(file)};`)
        .join("\n"),
      resolveDir: ROOT,
      loader: "ts",
      sourcefile: "bench-test-support.ts",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20.17",
    packages: "external",
    logLevel: "warning",
    outfile,
  });
  return import(pathToFileURL(outfile).href);
}
