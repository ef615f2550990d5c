import { runRun } from "./commands/run.js";
import type { GlobalOptions } from "./global-options.js";
import { reportError } from "./report-error.js";

/**
 * `sso-docker run` as main.ts reaches it: bundled into one file of its own (dist/bin/run-entry.js),
 * since each further ES module costs about a millisecond to resolve, load and link, and the run
 * path spans a dozen. It reports its own errors: the bundle holds its own copy of the error
 * classes, which main.ts's reportError would not recognise. False for a request for help.
 */
export async function runFastPath(argv: readonly string[], globals: GlobalOptions): Promise<boolean> {
  try {
    return await runRun(argv, globals);
  } catch (err) {
    process.exitCode = reportError(err, { debug: globals.debug });
    return true;
  }
}
