import { join } from "node:path";
import { agentStateDir } from "../agent/agent-files.js";
import { withCacheLock } from "../aws-files/cache-files.js";
import type { Env } from "../runtime/env.js";
import { CacheFileError } from "../runtime/errors.js";
import type { RemoteTarget } from "./remote-target.js";
import { RemoteTargetError, targetId } from "./remote-target.js";
import { hostKeyAlias, SSH_TIMEOUT_MS } from "./ssh-transport.js";

// A push is at most two ssh runs (the push, then linking ~/.aws/config), each killed at its limit.
const PATIENCE_MS = 3 * SSH_TIMEOUT_MS;

/**
 * One push or wipe at a time in a target, across processes (the agent pushes, `detach` and
 * `logout` wipe): a push already inside ssh when the user detaches or signs out lands before
 * the wipe, never after it. The agent checks, holding it, that the target is still attached and
 * the session signed in; detach and logout change those first, then wipe holding it.
 */
export async function withTargetLock<T>(
  env: Env,
  home: string,
  target: RemoteTarget,
  fn: () => Promise<T>,
): Promise<T> {
  const file = join(agentStateDir(env, home), "remote-locks", hostKeyAlias(target));
  const lock = { held: false };
  try {
    return await withCacheLock(
      file,
      () => {
        lock.held = true;
        return fn();
      },
      { patienceMs: PATIENCE_MS },
    );
  } catch (err) {
    if (lock.held || !(err instanceof CacheFileError)) throw err;
    throw new RemoteTargetError(
      `Could not wait for the push under way to ${targetId(target)} to end: ${err.message}`,
      { ...(err.hint === undefined ? {} : { hint: err.hint }), cause: err },
    );
  }
}
