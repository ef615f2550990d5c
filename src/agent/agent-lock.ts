import { readFile, unlink } from "node:fs/promises";
import lockfile from "proper-lockfile";
import { ensurePrivateDir, errnoCode, writeFileAtomically } from "../aws-files/cache-files.js";
import type { AgentFiles } from "./agent-files.js";

/** A live holder refreshes the lock this often; one older than STALE_MS is from a dead agent. */
const UPDATE_MS = 5_000;
const STALE_MS = 15_000;

export interface AgentLock {
  release(): Promise<void>;
}

export type LockOutcome = { kind: "acquired"; lock: AgentLock } | { kind: "running"; pid: number };

/** Whether a process with this pid exists (EPERM: it does, as another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === "EPERM";
  }
}

/** The pid of the agent for these files, if one is running. */
export async function runningAgentPid(files: AgentFiles): Promise<number | undefined> {
  let pid: unknown;
  try {
    pid = (JSON.parse(await readFile(files.pidFile, "utf8")) as { pid?: unknown }).pid;
  } catch {
    return undefined;
  }
  return typeof pid === "number" && Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * Makes this process THE agent for one engine and user: a proper-lockfile lock (atomic
 * mkdir, refreshed while we live, taken over once stale) plus a pid file for `status`/`stop`.
 */
export async function acquireAgentLock(files: AgentFiles, engine: string): Promise<LockOutcome> {
  await ensurePrivateDir(files.dir);
  const options = {
    realpath: false,
    stale: STALE_MS,
    update: UPDATE_MS,
    retries: 0,
    // Losing the lock (event loop stalled past STALE_MS) is logged by nobody: a second agent
    // may then start, which costs duplicate pushes, never wrong credentials.
    onCompromised: () => undefined,
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(files.pidFile, options);
  } catch (err) {
    if (errnoCode(err) !== "ELOCKED") throw err;
    const pid = await runningAgentPid(files);
    if (pid !== undefined) return { kind: "running", pid };
    // The holder died within the last STALE_MS: its pid is gone, so the lock is ours to take.
    await lockfile.unlock(files.pidFile, { realpath: false }).catch(() => undefined);
    try {
      release = await lockfile.lock(files.pidFile, options);
    } catch (again) {
      if (errnoCode(again) !== "ELOCKED") throw again;
      const other = await runningAgentPid(files);
      return { kind: "running", pid: other ?? 0 };
    }
  }
  await writeFileAtomically(
    files.pidFile,
    JSON.stringify({ pid: process.pid, engine, started: new Date().toISOString() }) + "\n",
    0o600,
  );
  return {
    kind: "acquired",
    lock: {
      async release() {
        await unlink(files.pidFile).catch(() => undefined);
        await release().catch(() => undefined);
      },
    },
  };
}
