import { agentFiles } from "../../agent/agent-files.js";
import type { AgentFiles } from "../../agent/agent-files.js";
import { acquireAgentLock, isAlive, runningAgentPid } from "../../agent/agent-lock.js";
import { createLogFileWriter } from "../../agent/agent-log.js";
import { startAgent } from "../../agent/agent.js";
import type { BackgroundAgent } from "../../agent/detach.js";
import { ensureBackgroundAgent, reportToParent } from "../../agent/detach.js";
import { planAgentStop, requestAgentStop, watchStopRequests } from "../../agent/stop-request.js";
import { createDockerEngine } from "../../docker/engine.js";
import type { DockerEngine } from "../../docker/engine.js";
import type { Deps } from "../../runtime/deps.js";
import { createDeps } from "../../runtime/deps.js";
import { SsoDockerError } from "../../runtime/errors.js";
import { createLogger } from "../../runtime/logger.js";
import { isoSeconds } from "../../runtime/time-format.js";
import { CLI_ENTRY } from "../../runtime/package-root.js";
import type { GlobalOptions } from "../global-options.js";

interface AgentFlags {
  detach?: boolean;
  context?: string;
  browser?: boolean;
  useDeviceCode?: boolean;
  detachedChild?: boolean;
}

const CLI_PATH = CLI_ENTRY;

function engineFor(deps: Deps, context: string | undefined): DockerEngine {
  return createDockerEngine({
    env: deps.env,
    home: deps.paths.home,
    ...(context === undefined ? {} : { context }),
  });
}

/**
 * Agent logs are read later: each line carries its time. A detached agent writes its log file
 * itself, which keeps it bounded (agent-log.ts); in the foreground it is stderr.
 */
function agentDeps(globals: GlobalOptions, logFile?: string): Deps {
  const out =
    logFile === undefined
      ? (text: string) => process.stderr.write(`${text}\n`)
      : createLogFileWriter(logFile);
  const write = (line: string) => {
    out(`${isoSeconds(Date.now())} ${line}`);
  };
  return createDeps({ debug: globals.debug, logger: createLogger({ debug: globals.debug, write }) });
}

function alreadyRunning(engine: string, pid: number): string {
  return `An sso-docker agent is already running for ${engine} (pid ${pid}).`;
}

export async function runAgent(flags: AgentFlags, globals: GlobalOptions): Promise<void> {
  const probe = createDeps({ debug: globals.debug });
  const engine = engineFor(probe, flags.context);
  const files = agentFiles(probe.env, probe.paths.home, engine.host);
  const deps = agentDeps(globals, flags.detachedChild === true ? files.logFile : undefined);
  if (flags.detach === true && flags.detachedChild !== true) {
    await detach(flags, globals, engine.host, files, deps);
    return;
  }
  const child = flags.detachedChild === true;
  const startedAt = Date.now();
  try {
    const outcome = await acquireAgentLock(files, engine.host);
    if (outcome.kind === "running") {
      if (child) {
        reportToParent({ kind: "running", pid: outcome.pid });
        return;
      }
      throw new SsoDockerError(alreadyRunning(engine.host, outcome.pid), {
        hint: "Stop it with `sso-docker agent stop`; `sso-docker status` shows what it does.",
      });
    }
    const { lock } = outcome;
    try {
      const handle = await startAgent(deps, {
        engine,
        stateFile: files.stateFile,
        openBrowser: flags.browser !== false,
        useDeviceCode: flags.useDeviceCode === true,
      });
      const stopWatch = watchStopRequests(files, process.pid, startedAt);
      if (child) {
        reportToParent({
          kind: "ready",
          pid: process.pid,
          engine: {
            answered: handle.engineAnswered,
            ...(handle.remoteTargets === undefined ? {} : { remoteTargets: handle.remoteTargets }),
          },
        });
      }
      const reason = await new Promise<string>((resolve) => {
        process.once("SIGINT", () => {
          resolve("on SIGINT");
        });
        process.once("SIGTERM", () => {
          resolve("on SIGTERM");
        });
        void stopWatch.requested.then(() => {
          resolve("as asked by `sso-docker agent stop`");
        });
      });
      stopWatch.close();
      deps.logger.info(`agent stopping ${reason}`);
      await handle.stop();
    } finally {
      await lock.release();
    }
  } catch (err) {
    if (child && err instanceof Error) {
      reportToParent({
        kind: "failed",
        message: err.message,
        ...(err instanceof SsoDockerError && err.hint !== undefined ? { hint: err.hint } : {}),
      });
    }
    throw err;
  }
}

async function detach(
  flags: AgentFlags,
  globals: GlobalOptions,
  engineHost: string,
  files: AgentFiles,
  deps: Deps,
): Promise<void> {
  const args = [
    ...(globals.debug ? ["--debug"] : []),
    "agent",
    ...(flags.context === undefined ? [] : ["--context", flags.context]),
    ...(flags.browser === false ? ["--no-browser"] : []),
    ...(flags.useDeviceCode === true ? ["--use-device-code"] : []),
    "--detached-child",
  ];
  const agent = await ensureBackgroundAgent({ cliPath: CLI_PATH, args, files, env: deps.env });
  process.stdout.write(
    agent.started
      ? `Started the sso-docker agent for ${engineHost} (pid ${agent.pid}); log: ${files.logFile}\n${describeEngineAbsence(engineHost, agent)}`
      : `${alreadyRunning(engineHost, agent.pid)}\n`,
  );
}

/** What an agent started with no engine to follow does meanwhile: "" when the engine answered. */
export function describeEngineAbsence(engineHost: string, agent: BackgroundAgent): string {
  if (agent.engine === undefined || agent.engine.answered) return "";
  const targets = agent.engine.remoteTargets;
  const doing =
    targets === undefined
      ? "the attached remote targets cannot be read (`sso-docker status` says why)"
      : targets === 0
        ? "no remote target is attached, so it has nothing to supply until the engine answers or you attach one (`sso-docker attach codespace:NAME --profile dev`)"
        : `it serves the ${String(targets)} attached remote target(s) meanwhile`;
  return `No Docker engine answers at ${engineHost}: the agent follows it once it does, and ${doing}. \`sso-docker status\` shows both.\n`;
}

export async function runAgentStop(flags: { context?: string }, globals: GlobalOptions): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const engine = engineFor(deps, flags.context);
  const files = agentFiles(deps.env, deps.paths.home, engine.host);
  const pid = await runningAgentPid(files);
  if (pid === undefined) {
    process.stdout.write(`No sso-docker agent is running for ${engine.host}.\n`);
    return;
  }
  const plan = planAgentStop(deps.platform, pid);
  await requestAgentStop(files, pid);
  // The agent removes its pid file on the way out; wait for the process itself to be gone.
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (!isAlive(pid)) {
      process.stdout.write(`Stopped the sso-docker agent for ${engine.host} (pid ${pid}).\n`);
      return;
    }
    // An agent that does not watch for requests still stops on SIGTERM, where there is one.
    if (waited === plan.signalAfterMs) process.kill(pid, "SIGTERM");
    await deps.clock.sleep(100);
  }
  throw new SsoDockerError(`The sso-docker agent (pid ${pid}) did not stop within 10 s.`, {
    hint: plan.forceCommand,
  });
}
