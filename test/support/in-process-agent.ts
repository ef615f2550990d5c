import { agentFiles } from "../../src/agent/agent-files.js";
import { acquireAgentLock } from "../../src/agent/agent-lock.js";
import { startAgent, type AgentHandle, type AgentOptions } from "../../src/agent/agent.js";
import { createDockerEngine, type DockerEngine } from "../../src/docker/engine.js";
import { createDeps, type Deps } from "../../src/runtime/deps.js";
import { createLogger } from "../../src/runtime/logger.js";
import type { TestHome } from "./host.js";

/**
 * Deps of an agent that runs in the test process for `home`: its debug log goes into `logs`, each
 * line stamped with seconds since this process started, so a timeout's log tail (agent-events.ts)
 * can be set against the test's own timings.
 */
export function agentTestDeps(home: TestHome, logs: string[]): Deps {
  return createDeps({
    env: home.env,
    platform: "linux",
    logger: createLogger({
      debug: true,
      write: (line) => logs.push(`${(performance.now() / 1000).toFixed(3)} ${line}`),
    }),
  });
}

export interface LockedAgent {
  agent: AgentHandle;
  engine: DockerEngine;
  /** Where the agent writes what `sso-docker status` in `home` reads. */
  stateFile: string;
}

/**
 * An agent in the test process on the local engine that holds `home`'s agent lock, as
 * `sso-docker agent` does: `sso-docker status` run in that HOME then reads this agent's state
 * file. Releasing the lock and stopping the agent go onto `cleanups`, which the suite undoes in
 * reverse order, so whatever got started is undone even when a later step throws.
 */
export async function startLockedAgent(
  deps: Deps,
  home: TestHome,
  options: Omit<AgentOptions, "engine" | "stateFile" | "openBrowser">,
  cleanups: (() => PromiseLike<unknown>)[],
): Promise<LockedAgent> {
  const engine = createDockerEngine({ env: {}, home: home.home });
  const files = agentFiles(home.env, home.home, engine.host);
  const lock = await acquireAgentLock(files, engine.host);
  if (lock.kind !== "acquired") {
    throw new Error(
      `an agent already runs for ${home.home} (pid ${String(lock.pid)}); a test agent needs its lock`,
    );
  }
  cleanups.push(() => lock.lock.release());
  const agent = await startAgent(deps, {
    ...options,
    engine,
    openBrowser: false,
    stateFile: files.stateFile,
  });
  cleanups.push(() => agent.stop());
  return { agent, engine, stateFile: files.stateFile };
}
