import { basename } from "node:path";
import { isRefreshable } from "../auth/access-token.js";
import { loadAwsConfig } from "../aws-files/config-read.js";
import { listSsoTokenFiles } from "../aws-files/cache-sweep.js";
import { listSsoSessions } from "../aws-files/profiles.js";
import { readSsoToken, sha1Hex } from "../aws-files/token-cache.js";
import type { RemoteTargetsReport } from "../remote/target-status.js";
import { remoteTargetsReport } from "../remote/target-status.js";
import type { Deps } from "../runtime/deps.js";
import { isoSeconds, parseTimestamp } from "../runtime/time-format.js";
import type { AgentFiles } from "./agent-files.js";
import { runningAgentPid } from "./agent-lock.js";
import type { ContainerState, RefusedState } from "./agent-state.js";
import { readAgentState } from "./agent-state.js";
import { messageOf } from "../runtime/message-of.js";

/** One cached SSO session, as `status` shows it: no token, only whether and how long it works. */
export interface SessionReport {
  /** sso-session name, or the start URL when the file is not one of a configured sso-session. */
  name: string;
  startUrl: string;
  region: string;
  expiresAt: string;
  expired: boolean;
  /** A refresh token and a live client registration can extend it without a browser. */
  refreshable: boolean;
  cacheFile: string;
  /** Set when the file could not be read; the other fields are then empty. */
  problem?: string;
}

export interface StatusReport {
  sessions: SessionReport[];
  agent: {
    running: boolean;
    pid?: number;
    engine: string;
    started?: string;
    /** Whether the agent last saw the engine's event stream open. */
    connected?: boolean;
    stateFile: string;
    logFile: string;
  };
  /** From the agent's state file; when the agent is not running, its last known view. */
  containers: ContainerState[];
  /** Containers that ask for credentials but are not bound to this user, and why. */
  refused: RefusedState[];
  /** When that view was written. */
  containersUpdated?: string;
  /** Attached remote targets, each with what the agent last saw of it. */
  remoteTargets: RemoteTargetsReport;
}

async function sessionNames(deps: Deps): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  try {
    const config = await loadAwsConfig(deps.paths.configFile);
    for (const s of listSsoSessions(config)) names.set(`${sha1Hex(s.sessionName)}.json`, s.sessionName);
  } catch {
    // A broken config must not hide the sessions: they are then named by start URL.
  }
  return names;
}

export async function listSessionReports(deps: Deps): Promise<SessionReport[]> {
  const names = await sessionNames(deps);
  const now = deps.clock.now();
  const reports: SessionReport[] = [];
  for (const file of await listSsoTokenFiles(deps.paths.ssoCacheDir)) {
    const name = names.get(basename(file.path)) ?? file.startUrl ?? basename(file.path);
    try {
      const token = await readSsoToken(file.path);
      if (!token) continue;
      // readSsoToken has checked that it parses.
      const expiresAt = parseTimestamp(token.expiresAt) ?? 0;
      reports.push({
        name,
        startUrl: token.startUrl,
        region: token.region,
        expiresAt: isoSeconds(expiresAt),
        expired: expiresAt <= now,
        refreshable: isRefreshable(token, now),
        cacheFile: file.path,
      });
    } catch (err) {
      reports.push({
        name,
        startUrl: file.startUrl ?? "",
        region: file.region ?? "",
        expiresAt: "",
        expired: true,
        refreshable: false,
        cacheFile: file.path,
        problem: messageOf(err),
      });
    }
  }
  return reports;
}

export async function buildStatusReport(
  deps: Deps,
  files: AgentFiles,
  engineHost: string,
): Promise<StatusReport> {
  const [sessions, pid, state] = await Promise.all([
    listSessionReports(deps),
    runningAgentPid(files),
    readAgentState(files.stateFile),
  ]);
  const live = pid !== undefined && state?.pid === pid;
  const remoteTargets = await remoteTargetsReport(deps, state?.remoteTargets);
  return {
    sessions,
    agent: {
      running: pid !== undefined,
      ...(pid === undefined ? {} : { pid }),
      engine: engineHost,
      ...(live ? { started: state.started, connected: state.connected } : {}),
      stateFile: files.stateFile,
      logFile: files.logFile,
    },
    containers: state?.containers ?? [],
    refused: state?.refused ?? [],
    ...(state ? { containersUpdated: state.updated } : {}),
    remoteTargets,
  };
}
