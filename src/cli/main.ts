#!/usr/bin/env node
import type { GlobalOptions } from "./global-options.js";

// The AWS SDK warns on every Node < 22 run; sso-docker supports Node ≥ 20 and its README says
// so, so the notice would only clutter output that scripts read.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";

/**
 * `sso-docker [--debug] run …` without its help: everything after `run` is docker's and goes to
 * parseRunArgs, so commander (~25 ms to load, several percent of a `docker run`) is skipped,
 * and so is every module but the one file that run-entry.ts is bundled into.
 */
function runCommand(argv: readonly string[]): { argv: string[]; globals: GlobalOptions } | undefined {
  const debug = argv[0] === "--debug";
  const at = debug ? 1 : 0;
  if (argv[at] !== "run") return undefined;
  return { argv: argv.slice(at + 1), globals: { debug } };
}

const fast = runCommand(process.argv.slice(2));
let handled = false;
if (fast !== undefined) {
  const { runFastPath } = await import("./run-entry.js");
  handled = await runFastPath(fast.argv, fast.globals);
}
if (!handled) {
  const { runProgram } = await import("./program.js");
  await runProgram(process.argv);
}
