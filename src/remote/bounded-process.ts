import { spawn } from "node:child_process";
import type { Env } from "../runtime/env.js";

export interface BoundedRun {
  env: Env;
  /** Written, then stdin is closed. */
  stdin?: string;
  timeoutMs: number;
  /** Per stream; past it the process is killed. */
  maxOutputBytes: number;
  signal?: AbortSignal;
}

export interface BoundedResult {
  /** Null when it was killed (by the time limit, the output cap or the signal). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Why it was killed, if it was. */
  killed?: "timeout" | "output" | "aborted";
  /** It could not be started (ENOENT: not on PATH). */
  spawnError?: NodeJS.ErrnoException;
}

/**
 * Runs a local command (ssh, a platform CLI) in a process group of its own, so that the time
 * limit, the output cap or the caller's signal kill it together with whatever it started (a
 * ProxyCommand): a connect command that hangs holds nothing after its limit.
 */
export function runBounded(
  command: string,
  args: readonly string[],
  options: BoundedRun,
): Promise<BoundedResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: "pipe", detached: true, windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const size = { out: 0, err: 0 };
    let killed: BoundedResult["killed"];
    let spawnError: NodeJS.ErrnoException | undefined;
    const kill = (why: NonNullable<BoundedResult["killed"]>) => {
      killed ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => {
      kill("timeout");
    }, options.timeoutMs);
    const onAbort = () => {
      kill("aborted");
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    const collect = (chunks: Buffer[], key: "out" | "err") => (chunk: Buffer) => {
      size[key] += chunk.length;
      if (size[key] > options.maxOutputBytes) {
        kill("output");
        return;
      }
      chunks.push(chunk);
    };
    child.stdout.on("data", collect(out, "out"));
    child.stderr.on("data", collect(err, "err"));
    // EPIPE when the process ends before reading all: its exit says why.
    child.stdin.on("error", () => undefined);
    child.once("error", (error: NodeJS.ErrnoException) => {
      spawnError = error;
    });
    child.once("close", (code: number | null) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve({
        exitCode: killed === undefined ? code : null,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ...(killed === undefined ? {} : { killed }),
        ...(spawnError === undefined ? {} : { spawnError }),
      });
    });
    child.stdin.end(options.stdin ?? "");
  });
}
