// `npm run demo`: installs the npm packages if needed, builds, then runs the demo. A node script,
// not a shell line, so it runs under npm on Windows too (no test -d, no `;`). npm is run through
// npm_execpath, the npm that runs this script, which needs no shell on any OS.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const npmCli = process.env["npm_execpath"];

function run(args, what) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(`sso-docker demo: ${what} failed (exit ${String(result.status ?? result.signal)}).`);
    process.exit(result.status ?? 1);
  }
}

function npm(args, what) {
  if (npmCli === undefined) {
    console.error("sso-docker demo: run it as `npm run demo`.");
    process.exit(1);
  }
  run([npmCli, ...args], what);
}

if (!existsSync(new URL("../node_modules", import.meta.url)))
  npm(["ci", "--no-audit", "--no-fund"], "npm ci");
npm(["run", "build"], "npm run build");
run(["dist/cli/main.js", "demo", ...process.argv.slice(2)], "the demo");
