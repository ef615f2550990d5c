/**
 * Runs `task` with an AbortSignal that Ctrl-C (SIGINT) or SIGTERM trips, so a waiting login
 * stops cleanly (loopback server closed, lock released) instead of dying mid-write.
 */
export async function withInterrupt<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => {
    controller.abort(new Error("interrupted"));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await task(controller.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
