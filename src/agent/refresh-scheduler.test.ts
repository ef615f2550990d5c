import { describe, expect, it } from "vitest";
import { ManualClock } from "../runtime/clock.js";
import { RefreshScheduler } from "./refresh-scheduler.js";

const KEY = "sso|111111111111|Admin";
const SLACK = 100;

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A scheduler whose rounds are recorded: each round "fetches" (waits for `fetches[n]` when the
 * test gives one), re-arms `interval` later like the agent's round, then leaves `pushes` running.
 */
function harness(options: { interval?: number; fetches?: Promise<void>[] } = {}) {
  const clock = new ManualClock();
  const controller = new AbortController();
  const interval = options.interval ?? 15_000;
  const stuckPushes = deferred();
  const log = { started: [] as number[], running: 0, peak: 0 };
  const scheduler: RefreshScheduler = new RefreshScheduler(
    clock,
    controller.signal,
    async (key) => {
      const n = log.started.push(clock.now()) - 1;
      log.running++;
      log.peak = Math.max(log.peak, log.running);
      try {
        await options.fetches?.[n];
        scheduler.rearm(key, clock.now() + interval);
        // Pushes into hung containers: the round does not wait for them.
        void stuckPushes.promise;
      } finally {
        log.running--;
      }
    },
    SLACK,
  );
  return {
    clock,
    scheduler,
    log,
    stop: () => {
      controller.abort(new Error("stopped"));
    },
  };
}

describe("RefreshScheduler (on a ManualClock)", () => {
  it("runs one round at the due time plus slack, and re-arms right after the fetch", async () => {
    const { clock, scheduler, log } = harness();
    const t0 = clock.now();
    scheduler.ensure(KEY, t0 + 1000);
    await clock.advance(1000 + SLACK - 1);
    expect(log.started).toEqual([]);
    await clock.advance(1);
    expect(log.started).toEqual([t0 + 1000 + SLACK]);
    // The round's pushes never ended, yet the next round is armed and runs on time.
    expect(scheduler.dueAt(KEY)).toBe(t0 + 1000 + SLACK + 15_000);
    await clock.advance(15_000 + SLACK);
    expect(log.started).toEqual([t0 + 1100, t0 + 1100 + 15_100]);
  });

  it("starts no round while one fetches, however many pushes ask for one", async () => {
    const slowFetch = deferred();
    // The first fetch takes long and the round it re-arms is due almost at once (1 ms).
    const { clock, scheduler, log } = harness({ interval: 1, fetches: [slowFetch.promise] });
    scheduler.ensure(KEY, clock.now());
    await clock.advance(SLACK);
    expect(log.started).toHaveLength(1);
    // Pushes for started containers ask for rounds while it fetches: no round starts.
    for (let i = 0; i < 50; i++) scheduler.ensure(KEY, clock.now() - 1000 + i);
    await clock.advance(5000);
    expect(log.started).toHaveLength(1);
    expect(scheduler.running(KEY)).toBe(true);
    slowFetch.resolve();
    await clock.advance(0);
    expect(log.started).toHaveLength(1);
    // Then only the round's own re-arm (1 ms + slack).
    await clock.advance(SLACK + 1);
    expect(log.peak).toBe(1);
    expect(log.started).toHaveLength(2);
  });

  it("coalesces a re-armed timer that fires during a round into one follow-up", async () => {
    const fetch = deferred();
    const { clock, scheduler, log } = harness({ interval: 10, fetches: [fetch.promise] });
    scheduler.ensure(KEY, clock.now());
    await clock.advance(SLACK);
    // The round is still fetching; its timer is re-armed by hand and falls due twice meanwhile.
    scheduler.rearm(KEY, clock.now());
    await clock.advance(SLACK);
    scheduler.rearm(KEY, clock.now());
    await clock.advance(SLACK);
    expect(log.started).toHaveLength(1);
    fetch.resolve();
    await clock.advance(0);
    expect(log.started).toHaveLength(2);
    expect(log.peak).toBe(1);
  });

  it("lets no container start add a round: older credentials' due times are ignored", async () => {
    const { clock, scheduler, log } = harness();
    const t0 = clock.now();
    scheduler.ensure(KEY, t0 + 1000);
    await clock.advance(1000 + SLACK);
    expect(log.started).toHaveLength(1);
    const next = scheduler.dueAt(KEY);
    // 200 containers start; some got the credentials from before the round (due at t0 + 1000),
    // the rest the round's own.
    for (let i = 0; i < 200; i++) scheduler.ensure(KEY, i % 2 === 0 ? t0 + 1000 : (next ?? 0));
    expect(scheduler.dueAt(KEY)).toBe(next);
    await clock.advance(15_000);
    expect(log.started).toHaveLength(1);
    await clock.advance(SLACK);
    expect(log.started).toHaveLength(2);
  });

  it("takes an earlier due time from a push, and sets no timer once stopped", async () => {
    const { clock, scheduler, log, stop } = harness();
    scheduler.ensure(KEY, clock.now() + 60_000);
    scheduler.ensure(KEY, clock.now() + 5000);
    expect(scheduler.dueAt(KEY)).toBe(clock.now() + 5000);
    expect(scheduler.size).toBe(1);
    stop();
    await clock.advance(120_000);
    expect(log.started).toEqual([]);
    scheduler.ensure("other", clock.now());
    expect(scheduler.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
