import type { ChildProcess } from "node:child_process";
import { DockerError } from "../runtime/errors.js";

// The docker CLI child of `sso-docker run`: its exit code and the signals passed on to it.

/** A child's exit code, as a shell reports it (128 + n when a signal ended it). */
export function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once("error", (error) => {
      reject(
        new DockerError(`Could not run docker: ${error.message}`, {
          cause: error,
          hint: "Is the docker CLI installed and on PATH?",
        }),
      );
    });
    child.once("close", (code, signal) => {
      resolve(code ?? 128 + (signal === null ? 0 : signalNumber(signal)));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return numbers[signal] ?? 0;
}

/**
 * Passes signals sent to sso-docker on to `docker run`, which proxies them to the container as
 * usual. A terminal sends Ctrl-C, Ctrl-\ and hang-ups to the whole foreground process group —
 * docker already has those — so with a terminal on stdin only the others are passed on.
 */
export function forwardSignals(child: ChildProcess, stdinIsTty: boolean): () => void {
  const fromTerminal: NodeJS.Signals[] = ["SIGINT", "SIGQUIT", "SIGHUP"];
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGUSR1", "SIGUSR2", ...(stdinIsTty ? [] : fromTerminal)];
  const handlers = signals.map((signal) => {
    const handler = () => child.kill(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  // Without a handler of its own, a terminal's Ctrl-C would end sso-docker before docker is done.
  const ignore = () => undefined;
  if (stdinIsTty) for (const signal of fromTerminal) process.on(signal, ignore);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    if (stdinIsTty) for (const signal of fromTerminal) process.off(signal, ignore);
  };
}
