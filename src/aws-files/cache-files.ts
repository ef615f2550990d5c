import { AsyncLocalStorage } from "node:async_hooks";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CacheFileError } from "../runtime/errors.js";

/**
 * Atomic writes and cross-process locks for files under ~/.aws. The lock and atomic-write
 * packages are imported on first write only: `sso-docker credentials` (a host
 * credential_process) mostly just reads, and those imports cost ~30 ms each.
 */

/** A lock older than this is from a dead process and is taken over (a live holder refreshes it). */
const STALE_MS = 10_000;

/** Paths this async context already holds, so a nested withCacheLock on the same path runs straight through. */
const heldLocks = new AsyncLocalStorage<ReadonlySet<string>>();
/** Per-path queue inside this process, so callers here wait in turn instead of polling the lock dir. */
const queues = new Map<string, Promise<void>>();

export function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? "unknown error";
}

async function acquireFileLock(path: string, patienceMs: number): Promise<() => Promise<void>> {
  const lockfile = (await import("proper-lockfile")).default;
  const release = await lockfile
    .lock(path, {
      realpath: false,
      stale: STALE_MS,
      // Most waits are the longest one (maxTimeout): their count sets the patience.
      retries: {
        retries: Math.ceil(patienceMs / 100),
        factor: 1.3,
        minTimeout: 10,
        maxTimeout: 100,
        randomize: true,
      },
      // Losing the lock (a stalled event loop past STALE_MS) is survivable: writes stay atomic.
      onCompromised: () => undefined,
    })
    .catch((err: unknown) => {
      const busy = errnoCode(err) === "ELOCKED";
      throw new CacheFileError(
        busy
          ? `Another sso-docker process has held the lock on ${path} for too long.`
          : `Cannot lock ${path} (${errnoCode(err)}).`,
        {
          hint: busy
            ? `Retry; if no sso-docker process is running, remove ${path}.lock`
            : `Check: ls -ld ${dirname(path)}`,
          cause: err,
        },
      );
    });
  return () => release().catch(() => undefined);
}

/**
 * Runs `fn` holding an exclusive lock on `path` (a `path.lock` directory, as proper-lockfile
 * does), across processes and within this one. Re-entrant: inside `fn`, writers that lock
 * the same path themselves run straight through. Use it for read → modify → write; a holder
 * that may take longer (a push over ssh) asks its waiters for more `patienceMs` (default 30 s).
 */
export async function withCacheLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: { patienceMs?: number } = {},
): Promise<T> {
  const key = resolve(path);
  if (heldLocks.getStore()?.has(key)) return fn();

  const previous = queues.get(key) ?? Promise.resolve();
  let finish = () => {};
  const done = new Promise<void>((resolveDone) => (finish = resolveDone));
  const mine = previous.then(() => done);
  queues.set(key, mine);
  await previous;
  try {
    await ensurePrivateDir(dirname(key));
    const release = await acquireFileLock(key, options.patienceMs ?? 30_000);
    try {
      return await heldLocks.run(new Set([...(heldLocks.getStore() ?? []), key]), fn);
    } finally {
      await release();
    }
  } finally {
    finish();
    if (queues.get(key) === mine) queues.delete(key);
  }
}

/** Creates the directory (and missing parents) with mode 0700; leaves existing ones alone. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Writes via a temp file and rename, so readers see the old or the new file, never a part.
 * `mode` undefined keeps an existing file's mode; symlinks are written through.
 */
export async function writeFileAtomically(
  path: string,
  data: string,
  mode: number | undefined,
): Promise<void> {
  await ensurePrivateDir(dirname(path));
  const writeFileAtomic = (await import("write-file-atomic")).default;
  await writeFileAtomic(path, data, { mode, fsync: true });
}

export type JsonFileContents =
  { kind: "missing" } | { kind: "json"; value: unknown } | { kind: "corrupt"; problem: string };

/**
 * Reads a JSON file. The AWS CLI truncates and rewrites its cache files in place, so a
 * parse failure is retried once after a moment before the file is called corrupt.
 */
export async function readJsonFile(path: string): Promise<JsonFileContents> {
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return { kind: "missing" };
      return { kind: "corrupt", problem: `cannot be read (${errnoCode(err)})` };
    }
    try {
      return { kind: "json", value: JSON.parse(text) as unknown };
    } catch {
      if (attempt >= 1)
        return { kind: "corrupt", problem: text.trim() === "" ? "is empty" : "is not valid JSON" };
      await sleep(50);
    }
  }
}
