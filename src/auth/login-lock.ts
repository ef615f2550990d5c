import { rm, stat, writeFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { CancelledError, LoginError } from "../runtime/errors.js";
import type { SessionRef } from "./session-ref.js";
import { describeSession, loginHint } from "./session-ref.js";

export interface LoginLock {
  release(): Promise<void>;
}

export interface LoginLockOptions {
  /** The agent's login: it marks the lock so a person's login does not queue behind it. */
  background: boolean;
  signal?: AbortSignal | undefined;
  /** Called once, when another login holds the lock and this one waits. */
  onWait?: () => void;
  /** How long to wait for another process's login (it waits on a person, like the AWS CLI's 10 minutes). */
  waitMs?: number;
}

const POLL_MS = 500;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The cross-process lock around one session's login, so two commands never prompt at once.
 * Returns undefined when a person's login (not `background`) finds the agent's login holding
 * it: the person at the terminal goes first, and the agent withdraws its request once the
 * new token lands. Waits on real time even under a fake clock: the holder waits on a person.
 */
export async function takeLoginLock(
  tokenPath: string,
  session: SessionRef,
  options: LoginLockOptions,
): Promise<LoginLock | undefined> {
  // Its own lock file, apart from the cache lock that refresh and write take on the token path.
  const loginFile = `${tokenPath}.login`;
  const lockPath = `${loginFile}.lock`;
  const agentMark = `${loginFile}.agent`;
  const deadline = Date.now() + (options.waitMs ?? 600_000);
  // Loaded here, not with the module: `sso-docker run` bundles this file and signs in rarely.
  const lockfile = (await import("proper-lockfile")).default;
  let waited = false;
  for (;;) {
    let release: (() => Promise<void>) | undefined;
    try {
      release = await lockfile.lock(loginFile, {
        realpath: false,
        stale: 30_000,
        update: 10_000,
        retries: 0,
        onCompromised: () => undefined,
      });
    } catch (err) {
      if ((err as { code?: unknown }).code !== "ELOCKED") {
        throw new LoginError(`Could not take the login lock for ${describeSession(session)} (${lockPath}).`, {
          cause: err,
        });
      }
    }
    if (release) {
      const unlock = release;
      // A mark left by an agent that died mid-login must not let the next person skip a real wait.
      if (options.background) await writeFile(agentMark, `${process.pid}\n`, { mode: 0o600 });
      else await rm(agentMark, { force: true });
      return {
        release: async () => {
          if (options.background) await rm(agentMark, { force: true }).catch(() => undefined);
          await unlock().catch(() => undefined);
        },
      };
    }
    if (!options.background && (await exists(agentMark))) return undefined;
    if (!waited) {
      waited = true;
      options.onWait?.();
    }
    if (Date.now() >= deadline) {
      throw new LoginError(
        `Another sso-docker login for ${describeSession(session)} is still waiting for its sign-in.`,
        {
          hint: `finish or cancel it, then run \`${loginHint(session)}\` (if none runs, remove ${lockPath})`,
        },
      );
    }
    try {
      await delay(POLL_MS, undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      throw new CancelledError("Login cancelled.");
    }
  }
}
