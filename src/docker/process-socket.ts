import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { Duplex } from "node:stream";

/** How a helper process ended on its own, for the caller's error message. */
export interface ProcessEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last STDERR_TAIL_BYTES of what it wrote on stderr. */
  stderr: string;
}

/** stderr kept for the error message: the last lines say why ssh gave up; the rest is dropped. */
export const STDERR_TAIL_BYTES = 8192;

interface Handle {
  ref?: () => void;
  unref?: () => void;
}

/**
 * A connection made of a helper process's stdio (`ssh … docker system dial-stdio`): what is
 * written goes to its stdin, its stdout is what is read, ending the write side closes its stdin
 * (the engine then sees the exec's stdin end). It passes for a net.Socket in node:http's client:
 * an idle timeout, and ref/unref that let a pooled idle connection not keep the process alive.
 * Destroying it kills the process. When the process ends by itself with a non-zero status, the
 * socket fails with `onFailure`'s error (ssh's stderr is in its argument); on status 0 the
 * readable side just ends, as a socket the server closed.
 */
export class ProcessSocket extends Duplex {
  /** As net.Socket's: the idle timeout in ms, 0 for none (node:http's agent reads it). */
  timeout = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private stderrTail = Buffer.alloc(0);

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    onFailure: (end: ProcessEnd) => Error,
    onSpawnError: (error: Error) => Error,
  ) {
    // Not half-open: once the process's output ends, so does this connection.
    super({ allowHalfOpen: false });
    child.stdout.on("data", (chunk: Buffer) => {
      this.activity();
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      const joined = Buffer.concat([this.stderrTail, chunk]);
      this.stderrTail = joined.subarray(Math.max(0, joined.length - STDERR_TAIL_BYTES));
    });
    // EPIPE once the process has died: its exit (below) says why.
    child.stdin.on("error", () => undefined);
    child.once("error", (error) => {
      this.destroy(onSpawnError(error));
    });
    // "close": the process has exited and its stdio are drained, so stderr is complete.
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.destroyed) return;
      if (code === 0) this.push(null);
      else this.destroy(onFailure({ code, signal, stderr: this.stderrTail.toString("utf8") }));
    });
  }

  /** The helper process's id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.activity();
    // A failed write (EPIPE: the process died) is not this connection's error: the process's
    // exit, with its stderr, is.
    this.child.stdin.write(chunk, () => {
      callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin.end(() => {
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    this.child.stdin.destroy();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    callback(error);
  }

  /**
   * As net.Socket's: emits "timeout" after `ms` without traffic. `ms` 0 turns it off and removes
   * `callback`, which is how node:http takes back the listener it added for each request.
   */
  setTimeout(ms: number, callback?: () => void): this {
    this.timeout = ms;
    if (callback !== undefined) {
      if (ms === 0) this.removeListener("timeout", callback);
      else this.once("timeout", callback);
    }
    this.activity();
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  /** Lets the process, its pipes and the idle timer keep the event loop alive again. */
  ref(): this {
    for (const handle of this.handles()) handle.ref?.();
    return this;
  }

  /** node:http's agent calls this on a pooled idle connection: it must not hold the process up. */
  unref(): this {
    for (const handle of this.handles()) handle.unref?.();
    return this;
  }

  private handles(): Handle[] {
    const { child } = this;
    return [child, child.stdin, child.stdout, child.stderr] as Handle[];
  }

  private activity(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.timeout <= 0 || this.destroyed) return;
    this.idleTimer = setTimeout(() => this.emit("timeout"), this.timeout);
    this.idleTimer.unref();
  }
}
