import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";

describe("ManualClock", () => {
  it("wakes due sleeps in order, each at its own time, and sees sleeps they start", async () => {
    const clock = new ManualClock(0);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push(`c@${String(clock.now())}`));
    void clock.sleep(100).then(async () => {
      woke.push(`a@${String(clock.now())}`);
      await clock.sleep(100);
      woke.push(`b@${String(clock.now())}`);
    });
    await clock.advance(250);
    expect(woke).toEqual(["a@100", "b@200"]);
    expect(clock.now()).toBe(250);
    await clock.advance(50);
    expect(woke).toEqual(["a@100", "b@200", "c@300"]);
  });

  it("rejects an aborted sleep with the signal's reason and forgets it", async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    controller.abort(new Error("replaced"));
    await expect(sleeping).rejects.toThrow("replaced");
    expect(clock.pending).toBe(0);
  });

  it("tells when the earliest pending sleep ends", async () => {
    const clock = new ManualClock(0);
    expect(clock.nextWake).toBeUndefined();
    void clock.sleep(300);
    void clock.sleep(100);
    expect(clock.nextWake).toBe(100);
    await clock.advance(100);
    expect(clock.nextWake).toBe(300);
  });
});
