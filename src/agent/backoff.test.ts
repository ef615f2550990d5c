import { describe, expect, it } from "vitest";
import { ManualClock } from "../runtime/clock.js";
import { backoffMs, forEachLimited } from "./backoff.js";

describe("backoff", () => {
  it("doubles from the base up to the cap", () => {
    const options = { baseMs: 1000, maxMs: 60_000 };
    expect([0, 1, 2, 3, 5, 6, 7, 100].map((a) => backoffMs(a, options))).toEqual([
      1000, 2000, 4000, 8000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it("runs at most `limit` tasks at once and survives failing ones", async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
      if (n === 4) throw new Error("one container failed");
      done.push(n);
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 5, 6, 7]);
  });

  it("lets a few stuck tasks go past their patience, but never more than `limit` of them: a slow engine is not flooded", async () => {
    const clock = new ManualClock(0);
    const release: (() => void)[] = [];
    let running = 0;
    let peak = 0;
    let ended = 0;
    // Every task outlasts the patience, as every push does on an overloaded engine.
    const all = forEachLimited(
      [...Array(12).keys()],
      3,
      () =>
        new Promise<void>((resolve) => {
          running++;
          peak = Math.max(peak, running);
          release.push(() => {
            running--;
            ended++;
            resolve();
          });
        }),
      { patience: { ms: 1000, clock } },
    );
    for (let second = 0; second < 10; second++) await clock.advance(1000);
    expect(peak).toBe(6);
    expect(running).toBe(6);
    // As they end, the rest follow, still at most six at once.
    while (ended < 12) {
      release.splice(0).forEach((end) => {
        end();
      });
      await clock.advance(1000);
    }
    await all;
    expect(peak).toBe(6);
  });
});
