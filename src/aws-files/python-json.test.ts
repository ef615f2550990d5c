import { describe, expect, it } from "vitest";
import { pythonJsonDumps } from "./python-json.js";

// Expected strings were produced by CPython 3.11 `json.dumps`.
describe("pythonJsonDumps", () => {
  it("uses Python's separators and keeps insertion order", () => {
    expect(pythonJsonDumps({ b: "x", a: 1 })).toBe('{"b": "x", "a": 1}');
  });

  it("sorts keys and escapes like ensure_ascii", () => {
    const value = { b: 'é\u2028😀\x7f\x00"\\/\t\n\r\b\f', a: [1, true, false, null, [], {}] };
    expect(pythonJsonDumps(value, { sortKeys: true })).toBe(
      String.raw`{"a": [1, true, false, null, [], {}], "b": "\u00e9\u2028\ud83d\ude00\u007f\u0000\"\\/\t\n\r\b\f"}`,
    );
  });

  it("leaves out undefined values and refuses floats", () => {
    expect(pythonJsonDumps({ a: undefined, b: null })).toBe('{"b": null}');
    expect(() => pythonJsonDumps(1.5)).toThrow(TypeError);
  });
});
