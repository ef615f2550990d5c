import { createDockerEngine } from "../../docker/engine.js";
import { parseRunArgs } from "../../run/run-args.js";
import { runContainer } from "../../run/run-container.js";
import { createDeps } from "../../runtime/deps.js";
import type { GlobalOptions } from "../global-options.js";

/** `sso-docker run`; false when it is a request for help, which commander prints. */
export async function runRun(argv: readonly string[], globals: GlobalOptions): Promise<boolean> {
  const args = parseRunArgs(argv);
  if (args.help) return false;
  const deps = createDeps({ debug: globals.debug });
  deps.logger.debug("sso-docker run");
  const engine = createDockerEngine({ env: deps.env, home: deps.paths.home });
  process.exitCode = await runContainer(deps, args, { engine });
  return true;
}
