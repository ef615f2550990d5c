import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { ensurePrivateDir } from "../aws-files/cache-files.js";
import type { Env } from "../runtime/env.js";
import type { AgentFiles } from "./agent-files.js";

/** What a detached agent tells the process that started it, over the IPC channel, once. */
export type DetachMessage =
  | { kind: "ready"; pid: number }
  | { kind: "running"; pid: number }
  | { kind: "failed"; message: string; hint?: string };

export type DetachOutcome = DetachMessage | { kind: "exited"; code: number | null };

/**
 * Starts `node <cli> <args>` in its own session with stdout/stderr appended to the agent's
 * log file, waits until it says it is ready (or why not), then lets it go.
 */
export async function spawnDetachedAgent(options: {
  cliPath: string;
  args: readonly string[];
  files: AgentFiles;
  env: Env;
  timeoutMs?: number;
}): Promise<DetachOutcome> {
  await ensurePrivateDir(options.files.dir);
  const log = openSync(options.files.logFile, "a", 0o600);
  try {
    const child = spawn(process.execPath, [options.cliPath, ...options.args], {
      detached: true,
      stdio: ["ignore", log, log, "ipc"],
      env: { ...options.env },
    });
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

/** In the detached child: report to the parent, then drop the channel so both can go their ways. */
export function reportToParent(message: DetachMessage): void {
  if (!process.send) return;
  process.send(message, () => {
    process.disconnect();
  });
}
