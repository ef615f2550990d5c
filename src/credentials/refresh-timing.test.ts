import { describe, expect, it } from "vitest";
import { isFresh, MAX_REFRESH_LEAD_MS, refreshDueAt, refreshLeadMs } from "./refresh-timing.js";

const MIN = 60_000;

function credentials(issuedAt: number | undefined, expiration: number) {
  return {
    accessKeyId: "ASIA1",
    secretAccessKey: "s",
    sessionToken: "t",
    expiration,
    ...(issuedAt === undefined ? {} : { issuedAt }),
  };
}

describe("refresh timing: replace once less than min(20 min, half the lifetime) remains", () => {
  it.each([
    ["12 h", 12 * 60 * MIN, 20 * MIN],
    ["1 h (real SSO credentials)", 60 * MIN, 20 * MIN],
    ["40 min", 40 * MIN, 20 * MIN],
    ["30 min", 30 * MIN, 15 * MIN],
    ["60 s (the scale bench)", 60_000, 30_000],
    ["30 s (test credentials)", 30_000, 15_000],
    ["0", 0, 0],
    ["negative", -5000, 0],
  ])("lifetime %s → lead %d ms", (_title, lifetime, lead) => {
    expect(refreshLeadMs(credentials(1_000_000, 1_000_000 + lifetime))).toBe(lead);
  });

  it("keeps real credentials out of every SDK's refresh window: 20 min left, ahead of botocore (15) and JS v3 (5)", () => {
    const issued = 1_000_000;
    const c = credentials(issued, issued + 60 * MIN);
    expect(refreshDueAt(c) - issued).toBe(40 * MIN);
    expect(c.expiration - refreshDueAt(c)).toBe(MAX_REFRESH_LEAD_MS);
  });

  it("replaces 30-second credentials halfway, not on every call", () => {
    const c = credentials(0, 30_000);
    expect(isFresh(c, 14_999)).toBe(true);
    expect(isFresh(c, 15_000)).toBe(false);
  });

  it("gives credentials of unknown issue time (the AWS CLI's cache) the full 20-min lead, however little is left", () => {
    // Seen with 25 min left: still good. Seen with 19 min left: fetched anew, never handed to an
    // SDK that would refresh (or reject them) at once.
    expect(isFresh(credentials(undefined, 25 * MIN), 0)).toBe(true);
    expect(isFresh(credentials(undefined, 19 * MIN), 0)).toBe(false);
    expect(refreshLeadMs(credentials(undefined, 30_000))).toBe(MAX_REFRESH_LEAD_MS);
  });
});
