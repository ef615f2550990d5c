import type { Duplex } from "node:stream";
import { StreamDemuxer } from "./demux.js";
import type { ExecRequest } from "./engine.js";
import { ExecOutputError, ExecTimeoutError } from "./errors.js";

// What a command in a container may cost the host, whatever the connection to the engine.

/**
 * A push takes ~100 ms, a few seconds on a busy engine; 20 s leaves room for that, and gives up
 * on a hung container well inside even a test's 15 s refresh window plus the credentials' rest.
 */
export const DEFAULT_EXEC_TIMEOUT_MS = 20_000;

/** A push prints a line or two, a wipe nothing: 64 KiB per stream is far above both. */
export const DEFAULT_EXEC_OUTPUT_BYTES = 64 * 1024;

export interface ExecLimits {
  timeoutMs: number;
  maxOutputBytes: number;
}

/**
 * Runs one exec under its limits. `run` gets one signal that aborts when the caller's does (with
 * its reason) or when the time is up (with an ExecTimeoutError naming the container), and must
 * close its connection when it fires; whatever the request then fails with, the abort's reason
 * is what the caller sees.
 */
export async function withinExecLimits<T>(
  container: string,
  request: ExecRequest,
  run: (signal: AbortSignal, limits: ExecLimits) => Promise<T>,
): Promise<T> {
  const limits = {
    timeoutMs: request.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
    maxOutputBytes: request.maxOutputBytes ?? DEFAULT_EXEC_OUTPUT_BYTES,
  };
  const controller = new AbortController();
  const outer = request.signal;
  const onAbort = () => {
    controller.abort(outer?.reason);
  };
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    controller.abort(new ExecTimeoutError(container, limits.timeoutMs));
  }, limits.timeoutMs);
  try {
    return await run(controller.signal, limits);
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    // One signal serves every push of a long run: leave no listener behind.
    outer?.removeEventListener("abort", onAbort);
  }
}

/**
 * Writes `stdin` (then half-closes, so the engine closes the process's stdin) and reads the
 * exec's multiplexed output until the engine ends it. Past `maxOutputBytes` on either stream, or
 * when `signal` aborts, the stream is destroyed: nothing more is read or kept.
 */
export function readExecStream(
  stream: Duplex,
  options: {
    container: string;
    stdin: string | Buffer | undefined;
    signal: AbortSignal;
    maxOutputBytes: number;
  },
): Promise<{ stdout: string; stderr: string }> {
  const { signal } = options;
  const demuxer = new StreamDemuxer(options.maxOutputBytes);
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", onAbort);
      stream.destroy();
      if (error !== undefined) {
        reject(error);
        return;
      }
      resolve({
        stdout: Buffer.concat(demuxer.stdout).toString("utf8"),
        stderr: Buffer.concat(demuxer.stderr).toString("utf8"),
      });
    };
    const onAbort = () => {
      finish(signal.reason as Error);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    stream.on("data", (chunk: Buffer) => {
      const over = demuxer.push(chunk);
      if (over !== undefined) finish(new ExecOutputError(options.container, over, options.maxOutputBytes));
    });
    stream.once("end", () => {
      finish();
    });
    stream.once("close", () => {
      finish();
    });
    stream.once("error", (error) => {
      finish(error);
    });
    if (options.stdin !== undefined) stream.end(options.stdin);
  });
}
