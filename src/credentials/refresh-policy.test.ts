import { describe, expect, it } from "vitest";
import { refreshAt, refreshLeadMs } from "./refresh-policy.js";

const creds = (issuedAt: number | undefined, lifetimeMs: number) => ({
  accessKeyId: "ASIA",
  secretAccessKey: "s",
  sessionToken: "t",
  expiration: (issuedAt ?? 0) + lifetimeMs,
  ...(issuedAt === undefined ? {} : { issuedAt }),
});

describe("refresh policy", () => {
  it("replaces 1 h credentials with 20 minutes left, ahead of botocore's 15-minute window", () => {
    expect(refreshLeadMs(creds(0, 3_600_000))).toBe(20 * 60_000);
    expect(refreshAt(creds(1000, 3_600_000))).toBe(1000 + 40 * 60_000);
  });
  it("replaces short-lived credentials at half their lifetime", () => {
    expect(refreshLeadMs(creds(0, 30_000))).toBe(15_000);
  });
  it("assumes the default 1 h lifetime when the issue time is unknown", () => {
    expect(refreshLeadMs(creds(undefined, 3_600_000))).toBe(20 * 60_000);
  });
});
