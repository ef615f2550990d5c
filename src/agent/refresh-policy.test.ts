import { describe, expect, it } from "vitest";
import {
  LifetimeTracker,
  MAX_REFRESH_WINDOW_MS,
  needsRefresh,
  refreshDueAt,
  refreshWindowMs,
} from "./refresh-policy.js";

const MIN = 60_000;

describe("refresh policy: re-push when less than min(20 min, L/2) remains", () => {
  it.each([
    ["1 h (real SSO credentials)", 60 * MIN, 20 * MIN],
    ["12 h", 12 * 60 * MIN, 20 * MIN],
    ["40 min", 40 * MIN, 20 * MIN],
    ["30 min", 30 * MIN, 15 * MIN],
    ["30 s (test credentials)", 30_000, 15_000],
    ["0", 0, 0],
    ["negative", -5000, 0],
  ])("lifetime %s → window %d ms", (_title, lifetime, window) => {
    expect(refreshWindowMs(lifetime)).toBe(window);
  });

  it("keeps real credentials above 20 minutes in the container: ahead of botocore (15 min) and JS v3 (5 min)", () => {
    const issued = 1_000_000;
    const expiration = issued + 60 * MIN;
    const due = refreshDueAt(expiration, 60 * MIN);
    expect(due - issued).toBe(40 * MIN);
    expect(expiration - due).toBe(MAX_REFRESH_WINDOW_MS);
    expect(expiration - due).toBeGreaterThan(15 * MIN);
  });

  it("pushes 30-second credentials every ~15 seconds", () => {
    expect(refreshDueAt(30_000, 30_000)).toBe(15_000);
    expect(needsRefresh(30_000, 30_000, 14_999)).toBe(false);
    expect(needsRefresh(30_000, 30_000, 15_000)).toBe(true);
  });

  it("measures the lifetime from when the credentials were first seen", () => {
    let now = 0;
    const tracker = new LifetimeTracker(() => now);
    const credentials = {
      accessKeyId: "ASIA1",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: 60 * MIN,
    };
    expect(tracker.observe(credentials)).toBe(60 * MIN);
    now = 30 * MIN; // seen again later: still the lifetime from the first sight
    expect(tracker.minValidityMs(credentials)).toBe(20 * MIN);
    expect(tracker.dueAt(credentials)).toBe(40 * MIN);
    const short = { ...credentials, accessKeyId: "ASIA2", expiration: now + 30_000 };
    expect(tracker.dueAt(short)).toBe(now + 15_000);
  });
});
