import { readFile, unlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { ensurePrivateDir, errnoCode, writeFileAtomically } from "../aws-files/cache-files.js";
import type { AgentFiles } from "./agent-files.js";

/** A live holder refreshes the lock this often; one older than STALE_MS is from a dead agent. */
const UPDATE_MS = 5_000;
const STALE_MS = 15_000;
/**
 * A lock whose pid file names no live process may be an agent between taking the lock and
 * writing its pid (the file still absent, or a dead agent's): it is waited for this long, in
 * steps, before the lock is taken over as a dead agent's.
 */
const PID_WAIT_MS = 2_000;
const PID_POLL_MS = 25;

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

/** What the pid file says: a live agent's pid, a dead one's, or nothing (absent, unreadable). */
async function readAgentPid(files: AgentFiles): Promise<{ pid: number; alive: boolean } | undefined> {
  let pid: unknown;
  try {
    pid = (JSON.parse(await readFile(files.pidFile, "utf8")) as { pid?: unknown }).pid;
  } catch {
    return undefined;
  }
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, alive: isAlive(pid) };
}

/** The pid of the agent for these files, if one is running. */
export async function runningAgentPid(files: AgentFiles): Promise<number | undefined> {
  const found = await readAgentPid(files);
  return found?.alive === true ? found.pid : undefined;
}

/**
 * Makes this process THE agent for one engine and user: a proper-lockfile lock (atomic
 * mkdir, refreshed while we live, taken over once stale) plus a pid file for `status`/`stop`.
 * Two agents started at once (two `sso-docker run`s, `agent --detach` twice) end with one.
 */
export async function acquireAgentLock(files: AgentFiles, engine: string): Promise<LockOutcome> {
  await ensurePrivateDir(files.dir);
  // Loaded here, not with the module: `sso-docker run` reads the pid file on every run.
  const lockfile = (await import("proper-lockfile")).default;
  const options = {
    realpath: false,
    stale: STALE_MS,
    update: UPDATE_MS,
    retries: 0,
    // Losing the lock (event loop stalled past STALE_MS) is logged by nobody: a second agent
    // may then start, which costs duplicate pushes, never wrong credentials.
    onCompromised: () => undefined,
  };
  const lock = async (): Promise<(() => Promise<void>) | undefined> => {
    try {
      return await lockfile.lock(files.pidFile, options);
    } catch (err) {
      if (errnoCode(err) !== "ELOCKED") throw err;
      return undefined;
    }
  };
  let release = await lock();
  for (let waited = 0; release === undefined; waited += PID_POLL_MS) {
    const holder = await readAgentPid(files);
    if (holder?.alive === true) return { kind: "running", pid: holder.pid };
    if (waited < PID_WAIT_MS) {
      await sleep(PID_POLL_MS);
      release = await lock();
      continue;
    }
    // The holder died within the last STALE_MS: its pid is gone, so the lock is ours to take.
    await lockfile.unlock(files.pidFile, { realpath: false }).catch(() => undefined);
    release = await lock();
    if (release === undefined) {
      const other = await runningAgentPid(files);
      return { kind: "running", pid: other ?? 0 };
    }
  }
  await writeFileAtomically(
    files.pidFile,
    JSON.stringify({ pid: process.pid, engine, started: new Date().toISOString() }) + "\n",
    0o600,
  );
  const unlock = release;
  return {
    kind: "acquired",
    lock: {
      async release() {
        await unlink(files.pidFile).catch(() => undefined);
        await unlock().catch(() => undefined);
      },
    },
  };
}
