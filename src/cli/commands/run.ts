import { parseRunArgs } from "../../run/run-args.js";
import { runContainer } from "../../run/run-container.js";
import { createDeps } from "../../runtime/deps.js";
import type { GlobalOptions } from "../main.js";

export async function runRun(argv: readonly string[], globals: GlobalOptions): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const args = parseRunArgs(argv);
  process.exitCode = await runContainer(deps, args, {
    engine: async () => {
      const { createDockerEngine } = await import("../../docker/engine.js");
      return createDockerEngine({ env: deps.env, home: deps.paths.home });
    },
  });
}
