import { describe, expect, it } from "vitest";
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
});
