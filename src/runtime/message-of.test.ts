import { describe, expect, it } from "vitest";
import { clauseOf, messageOf } from "./message-of.js";

describe("messageOf", () => {
  it("gives an Error's message and anything else thrown as text", () => {
    expect(messageOf(new TypeError("bad input."))).toBe("bad input.");
    expect(messageOf("plain string")).toBe("plain string");
    expect(messageOf(42)).toBe("42");
    expect(messageOf(undefined)).toBe("undefined");
  });
});

describe("clauseOf", () => {
  it("drops one final period and nothing else", () => {
    expect(clauseOf(new Error("Session expired."))).toBe("Session expired");
    expect(clauseOf(new Error("v1.2.3 ..."))).toBe("v1.2.3 ..");
    expect(clauseOf(new Error("no period"))).toBe("no period");
  });
});
