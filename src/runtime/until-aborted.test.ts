import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { untilAborted } from "./until-aborted.js";

describe("untilAborted", () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => {
    unhandled.push(reason);
  };
  beforeEach(() => {
    unhandled.length = 0;
    process.on("unhandledRejection", record);
  });
  afterEach(() => {
    process.off("unhandledRejection", record);
  });

  /** A promise that fails a moment later, as a request to a container removed meanwhile does. */
  function failingSoon(): Promise<never> {
    return new Promise((_resolve, reject) =>
      setImmediate(() => {
        reject(new Error("No such container: c1."));
      }),
    );
  }

  /** Lets a rejection nobody handles reach the process's unhandledRejection event. */
  async function settle(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }

  it("is the promise's outcome while the signal stands", async () => {
    await expect(untilAborted(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(untilAborted(failingSoon(), new AbortController().signal)).rejects.toThrow(
      "No such container",
    );
  });

  it("rejects with the reason when the signal aborts first, and the work's later failure goes nowhere", async () => {
    const controller = new AbortController();
    const waiting = untilAborted(failingSoon(), controller.signal);
    controller.abort(new Error("container c1 stopped"));
    await expect(waiting).rejects.toThrow("container c1 stopped");
    await settle();
    expect(unhandled).toEqual([]);
  });

  it("drops the failure of work started after the signal had already aborted (the agent crashed on it)", async () => {
    const controller = new AbortController();
    controller.abort(new Error("container c1 stopped"));
    await expect(untilAborted(failingSoon(), controller.signal)).rejects.toThrow("container c1 stopped");
    await settle();
    expect(unhandled).toEqual([]);
  });
});
