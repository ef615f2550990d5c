import { describe, expect, it } from "vitest";
import type { Logger } from "../runtime/logger.js";
import type { SyncReason } from "./agent-events.js";
import { SyncQueue } from "./sync-queue.js";

function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (line) => warnings.push(line),
  };
  return { logger, warnings };
}

describe("SyncQueue", () => {
  it("coalesces a burst of requests during a sync into ONE more sync, with the newest reason", async () => {
    const runs: [string, SyncReason][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const queue = new SyncQueue(
      async (id, reason) => {
        runs.push([id, reason]);
        await gate;
      },
      recordingLogger().logger,
      new AbortController().signal,
    );
    const first = queue.request("c1", "start");
    const burst = (["restart", "reconcile", "unpause"] as const).map((reason) => queue.request("c1", reason));
    release();
    await Promise.all([first, ...burst]);
    expect(runs).toEqual([
      ["c1", "start"],
      ["c1", "unpause"],
    ]);
  });

  it("never rejects: a failed sync is logged, and the next request syncs again", async () => {
    const { logger, warnings } = recordingLogger();
    let calls = 0;
    const queue = new SyncQueue(
      () => {
        calls++;
        return Promise.reject(new Error("engine said no"));
      },
      logger,
      new AbortController().signal,
    );
    await expect(queue.request("0123456789abcdef", "start")).resolves.toBeUndefined();
    await queue.request("0123456789abcdef", "reconcile");
    expect(calls).toBe(2);
    expect(warnings).toEqual([
      "cannot sync container 0123456789ab: engine said no",
      "cannot sync container 0123456789ab: engine said no",
    ]);
  });
});
