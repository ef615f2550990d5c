import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Env } from "../runtime/env.js";

/** Where one agent (per engine endpoint and user) keeps its pid, state and log. */
export interface AgentFiles {
  dir: string;
  /** Holds the pid; its proper-lockfile lock (`.lock` dir) makes the agent the only one. */
  pidFile: string;
  /** JSON for `sso-docker status`: names and times, never secrets. */
  stateFile: string;
  /** stdout/stderr of a `--detach`ed agent. */
  logFile: string;
  /** Where `agent stop` asks the agent to stop (stop-request.ts): no signals needed. */
  stopFile: string;
}

/** `$XDG_STATE_HOME/sso-docker` when set, else `~/.sso-docker`. */
export function agentStateDir(env: Env, home: string): string {
  const xdg = env["XDG_STATE_HOME"];
  return xdg ? join(xdg, "sso-docker") : join(home, ".sso-docker");
}

export function agentFiles(
  env: Env,
  home: string,
  engineHost: string,
  uid: number = process.getuid?.() ?? 0,
): AgentFiles {
  const dir = agentStateDir(env, home);
  // One agent per engine and user: the key names both without putting the address in a file name.
  const key = createHash("sha256").update(`${uid}\n${engineHost}`).digest("hex").slice(0, 12);
  return {
    dir,
    pidFile: join(dir, `agent-${key}.pid`),
    stateFile: join(dir, `agent-${key}.json`),
    logFile: join(dir, `agent-${key}.log`),
    stopFile: join(dir, `agent-${key}.stop`),
  };
}
