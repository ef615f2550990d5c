// Bundles the CLI into dist/bin with esbuild (README "Layout"): main.js with one chunk per command,
// and sso-docker run's whole path in run-entry.js of its own. A node script, not a shell line, so
// `npm run build` works under npm on Windows too (cmd.exe has no rm -rf).
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const shared = {
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20.17",
  packages: "external",
  logLevel: "warning",
};

rmSync(new URL("../dist/bin", import.meta.url), { recursive: true, force: true });
await build({
  ...shared,
  entryPoints: ["src/cli/main.ts"],
  splitting: true,
  external: ["./run-entry.js"],
  outdir: "dist/bin",
});
await build({ ...shared, entryPoints: ["src/cli/run-entry.ts"], outfile: "dist/bin/run-entry.js" });
