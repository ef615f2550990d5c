import { appendFileSync, renameSync, statSync } from "node:fs";

/** A detached agent's log stops growing here: it becomes `<log>.1` and a new one starts. */
export const AGENT_LOG_MAX_BYTES = 10 * 1024 * 1024;

/**
 * Line writer for a detached agent's log file that keeps it bounded: once it passes `maxBytes`
 * it is renamed to `<path>.1` (replacing the one before) and writing goes on in a new file.
 * Synchronous appends: an agent logs a few lines a minute, and a line must survive a crash.
 * The agent's stderr still points at the file it was started with (for a crash's stack), which
 * after a rotation is `<path>.1`.
 */
export function createLogFileWriter(path: string, maxBytes = AGENT_LOG_MAX_BYTES): (line: string) => void {
  let size = sizeOf(path);
  return (line) => {
    const text = `${line}\n`;
    if (size > 0 && size + Buffer.byteLength(text) > maxBytes) {
      renameSync(path, `${path}.1`);
      size = 0;
    }
    appendFileSync(path, text, { mode: 0o600 });
    size += Buffer.byteLength(text);
  };
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
