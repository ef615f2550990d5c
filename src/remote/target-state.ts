import type { Env } from "../runtime/env.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import { runBounded } from "./bounded-process.js";
import type { RemoteTarget, TargetState } from "./remote-target.js";
import { stateQuery } from "./remote-target.js";

/** A state query is one API call; one that hangs must not hold a round. */
export const STATE_TIMEOUT_MS = 20_000;

export interface StateAnswer {
  state: TargetState;
  /** Why the state is unknown: the CLI's words, quoted. */
  detail?: string;
}

/**
 * Asks the platform whether the target runs, without connecting to it: connecting through
 * `gh codespace ssh` starts a stopped codespace, which a push must never do. A plain ssh host
 * has nothing to ask, and is tried.
 */
export async function queryState(target: RemoteTarget, env: Env, signal?: AbortSignal): Promise<StateAnswer> {
  const query = stateQuery(target);
  if (query === undefined) return { state: "available" };
  const result = await runBounded(query.command, query.args, {
    env,
    timeoutMs: STATE_TIMEOUT_MS,
    maxOutputBytes: 1024 * 1024,
    ...(signal === undefined ? {} : { signal }),
  });
  if (result.spawnError !== undefined) {
    return { state: "unknown", detail: `\`${query.command}\` is not on PATH` };
  }
  if (result.exitCode !== 0) {
    const said = result.killed ?? quoteForeign(result.stderr.trim() || `exit ${String(result.exitCode)}`);
    return { state: "unknown", detail: `\`${query.command} ${query.args.join(" ")}\` failed: ${said}` };
  }
  return { state: query.parse(result.stdout) };
}
