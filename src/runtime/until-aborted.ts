/**
 * `promise`, or the signal's reason once it aborts, whichever comes first. The work behind
 * `promise` goes on after an abort: its outcome is then dropped, a failure included, so that a
 * request still under way (a container removed meanwhile answers 404) cannot end the process as
 * an unhandled rejection.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason as Error);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      signal.removeEventListener("abort", onAbort);
    });
  });
}
