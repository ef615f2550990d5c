import { spawn } from "node:child_process";
import type { SpawnOptions } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { ensurePrivateDir, withCacheLock } from "../aws-files/cache-files.js";
import type { Env } from "../runtime/env.js";
import { SsoDockerError } from "../runtime/errors.js";
import type { AgentFiles } from "./agent-files.js";
import { runningAgentPid } from "./agent-lock.js";

/** What a detached agent tells the process that started it, over the IPC channel, once. */
export type DetachMessage =
  | { kind: "ready"; pid: number; engine?: EngineContact }
  | { kind: "running"; pid: number }
  | { kind: "failed"; message: string; hint?: string };

/** Whether the agent's engine answered at its start, and how many remote targets it serves. */
export interface EngineContact {
  answered: boolean;
  /** Undefined when remote-targets.json cannot be read. */
  remoteTargets?: number;
}

export type DetachOutcome = DetachMessage | { kind: "exited"; code: number | null };

export interface DetachOptions {
  cliPath: string;
  args: readonly string[];
  files: AgentFiles;
  env: Env;
  timeoutMs?: number;
}

/** The agent for these files, running in the background: started by this call, or found. */
export interface BackgroundAgent {
  started: boolean;
  pid: number;
  /** What a started agent found at its start. */
  engine?: EngineContact;
}

/**
 * Makes sure the agent for these files runs, starting it detached (`args` are its command
 * line) unless it does, and throws what kept it from starting. Callers that find none wait in
 * turn, so several `sso-docker run`s at once start one agent, not one each that then quits.
 */
export async function ensureBackgroundAgent(options: DetachOptions): Promise<BackgroundAgent> {
  const { files } = options;
  const found = await runningAgentPid(files);
  if (found !== undefined) return { started: false, pid: found };
  return withCacheLock(`${files.pidFile}.start`, async () => {
    const running = await runningAgentPid(files);
    if (running !== undefined) return { started: false, pid: running };
    const outcome = await spawnDetachedAgent(options);
    switch (outcome.kind) {
      case "ready":
        return {
          started: true,
          pid: outcome.pid,
          ...(outcome.engine === undefined ? {} : { engine: outcome.engine }),
        };
      case "running":
        return { started: false, pid: outcome.pid };
      case "failed":
        throw new SsoDockerError(`The sso-docker agent did not start: ${outcome.message}`, {
          hint: outcome.hint ?? `Read ${files.logFile}`,
        });
      case "exited":
        throw new SsoDockerError(`The sso-docker agent exited at start (code ${String(outcome.code)}).`, {
          hint: `Read ${files.logFile}`,
        });
    }
  });
}

/**
 * Starts `node <cli> <args>` in its own session with stdout/stderr appended to the agent's
 * log file, waits until it says it is ready (or why not), then lets it go.
 */
export async function spawnDetachedAgent(options: DetachOptions): Promise<DetachOutcome> {
  await ensurePrivateDir(options.files.dir);
  const log = openSync(options.files.logFile, "a", 0o600);
  try {
    const child = spawn(
      process.execPath,
      [options.cliPath, ...options.args],
      detachedSpawnOptions(log, options.env),
    );
    const outcome = await new Promise<DetachOutcome>((resolve) => {
      const timer = setTimeout(() => {
        resolve({ kind: "failed", message: "the agent did not report back within 30 s" });
      }, options.timeoutMs ?? 30_000);
      child.once("message", (message: DetachMessage) => {
        clearTimeout(timer);
        resolve(message);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve({ kind: "exited", code });
      });
      child.once("error", (err) => {
        clearTimeout(timer);
        resolve({ kind: "failed", message: err.message });
      });
    });
    if (child.connected) child.disconnect();
    child.unref();
    return outcome;
  } finally {
    closeSync(log);
  }
}

/**
 * Its own session (its own process group; on Windows, no console shared with the caller), the
 * log file for output, an IPC channel to report back on, and no console window of its own on
 * Windows, where a detached console program would otherwise open one for as long as it runs.
 */
export function detachedSpawnOptions(log: number, env: Env): SpawnOptions {
  return { detached: true, windowsHide: true, stdio: ["ignore", log, log, "ipc"], env: { ...env } };
}

/** In the detached child: report to the parent, then drop the channel so both can go their ways. */
export function reportToParent(message: DetachMessage): void {
  if (!process.send) return;
  process.send(message, () => {
    process.disconnect();
  });
}
