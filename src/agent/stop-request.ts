import { watch } from "node:fs";
import { readFile, unlink } from "node:fs/promises";
import { basename } from "node:path";
import { writeFileAtomically } from "../aws-files/cache-files.js";
import type { AgentFiles } from "./agent-files.js";

/**
 * `sso-docker agent stop` without POSIX signals: it leaves a stop request beside the agent's pid
 * file and the agent, watching its directory, stops as on SIGTERM (final state written, lock
 * released). Windows cannot deliver SIGTERM (Node's process.kill there ends the process at once),
 * so this is the one way on every OS. The request names the agent's pid and its time, so a
 * request left behind for an agent that died cannot stop a later one given the same pid.
 */
interface StopRequest {
  pid: number;
  /** ms since the epoch. */
  requested: number;
}

/** Asks the agent with this pid to stop; returns at once (wait for the process to end). */
export async function requestAgentStop(
  files: AgentFiles,
  pid: number,
  now: number = Date.now(),
): Promise<void> {
  const request: StopRequest = { pid, requested: now };
  await writeFileAtomically(files.stopFile, JSON.stringify(request) + "\n", 0o600);
}

export interface StopWatch {
  /** Resolves once a stop request for this agent arrived (and was removed). */
  readonly requested: Promise<void>;
  close(): void;
}

/**
 * In the agent: watches for a stop request naming `pid` made at or after `since`. One naming
 * another process, or older, is left alone: it may be for another agent of these files.
 */
export function watchStopRequests(files: AgentFiles, pid: number, since: number): StopWatch {
  const name = basename(files.stopFile);
  let resolve: () => void = () => undefined;
  const requested = new Promise<void>((r) => {
    resolve = r;
  });
  let done = false;
  // One look at a time, in order: events come in bursts (a rename is several).
  let looks = Promise.resolve();
  const look = (): void => {
    looks = looks.then(async () => {
      if (done || !(await isRequestFor(files.stopFile, pid, since))) return;
      done = true;
      await unlink(files.stopFile).catch(() => undefined);
      watcher.close();
      resolve();
    });
  };
  // The directory, not the file: the request is renamed into place, which replaces any file watch.
  const watcher = watch(files.dir, { persistent: false }, (_event, changed) => {
    if (changed === null || changed === name) look();
  });
  // A watch that breaks (its directory removed) leaves SIGINT/SIGTERM; it must not end the agent.
  watcher.on("error", () => undefined);
  // A request written before the watch began.
  look();
  return {
    requested,
    close: () => {
      done = true;
      watcher.close();
    },
  };
}

async function isRequestFor(path: string, pid: number, since: number): Promise<boolean> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  return text !== undefined && isStopRequestFor(text, pid, since);
}

/** Whether a stop file's text asks the agent with this pid, started at `since`, to stop. */
export function isStopRequestFor(text: string, pid: number, since: number): boolean {
  let request: Partial<StopRequest>;
  try {
    request = JSON.parse(text) as Partial<StopRequest>;
  } catch {
    return false;
  }
  return request.pid === pid && typeof request.requested === "number" && request.requested >= since;
}

/** How `agent stop` ends an agent on this platform, beyond the stop request every platform uses. */
export interface StopPlan {
  /** After this long without an answer to the request, SIGTERM (an agent that does not watch); none on Windows. */
  signalAfterMs?: number;
  /** The command that ends it by force, for the message when it does not stop. */
  forceCommand: string;
}

export function planAgentStop(platform: NodeJS.Platform, pid: number): StopPlan {
  if (platform === "win32") return { forceCommand: `taskkill /PID ${pid} /F` };
  return { signalAfterMs: 5_000, forceCommand: `kill -9 ${pid}` };
}
