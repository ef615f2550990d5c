import { describe, expect, it } from "vitest";
import { isoSeconds, parseTimestamp } from "./time-format.js";

const EPOCH = Date.UTC(2026, 0, 2, 3, 4, 5);

describe("time format", () => {
  it("formats whole seconds with a Z, as the AWS CLI's strftime does", () => {
    expect(isoSeconds(EPOCH + 999)).toBe("2026-01-02T03:04:05Z");
  });

  it.each([
    ["2026-01-02T03:04:05Z", EPOCH],
    ["2026-01-02T03:04:05.250Z", EPOCH + 250],
    ["2026-01-02T03:04:05UTC", EPOCH],
    ["2026-01-02T03:04:05", EPOCH],
    ["2026-01-02T05:04:05+02:00", EPOCH],
    ["2026-01-02T01:04:05-0200", EPOCH],
  ])("reads %s", (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each(["", "soon", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z"])(
    "rejects %j",
    (text) => {
      expect(parseTimestamp(text)).toBeUndefined();
    },
  );
});
