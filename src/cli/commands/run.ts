import { writeSync } from "node:fs";
import { agentFiles } from "../../agent/agent-files.js";
import { ensureBackgroundAgent } from "../../agent/detach.js";
import { createDockerEngine } from "../../docker/engine.js";
import { parseRunArgs } from "../../run/run-args.js";
import { chooseDockerCli } from "../../run/docker-cli.js";
import { runContainer } from "../../run/run-container.js";
import { createDeps } from "../../runtime/deps.js";
import { createLogger } from "../../runtime/logger.js";
import { CLI_ENTRY } from "../../runtime/package-root.js";
import type { GlobalOptions } from "../global-options.js";

/**
 * stderr through fd 2 itself: process.stderr would leave the descriptor non-blocking, and the
 * `docker run` this process becomes, then the shell after it, would inherit that.
 */
function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // A closed stderr loses the line, as it would for docker.
  }
}

/** `sso-docker run`; false when it is a request for help, which commander prints. */
export async function runRun(argv: readonly string[], globals: GlobalOptions): Promise<boolean> {
  const args = parseRunArgs(argv);
  if (args.help) return false;
  const logger = createLogger({
    debug: globals.debug,
    write: (line) => {
      writeStderr(`${line}\n`);
    },
  });
  const deps = createDeps({ debug: globals.debug, logger });
  deps.logger.debug("sso-docker run");
  const engine = createDockerEngine({ env: deps.env, home: deps.paths.home });
  process.exitCode = await runContainer(deps, args, {
    engine,
    docker: chooseDockerCli(engine, deps.env),
    notice: (text) => {
      writeStderr(`${text}\n`);
    },
    signIn: async (session, oidcEndpoint) => {
      // Loaded only when a sign-in is due: the prompt's modules are most of the CLI's.
      const { loginOnTerminal } = await import("../login-ui.js");
      await loginOnTerminal(deps, session, { openBrowser: true, oidcEndpoint });
    },
    ensureAgent: (engineHost) =>
      ensureBackgroundAgent({
        cliPath: CLI_ENTRY,
        args: [...(globals.debug ? ["--debug"] : []), "agent", "--detached-child"],
        files: agentFiles(deps.env, deps.paths.home, engineHost),
        env: deps.env,
      }),
  });
  return true;
}
