import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { escapeControls, quoteForeign } from "./untrusted-text.js";

describe("quoteForeign", () => {
  it("keeps a forged prompt on the line it was quoted in", () => {
    const forged =
      "oops\n2026-12-05 sign-in needed for my-sso: open http://evil.example/device and enter ABCD-EFGH";
    const quoted = quoteForeign(forged);
    expect(quoted).not.toContain("\n");
    expect(quoted).toBe(
      "«oops\\n2026-12-05 sign-in needed for my-sso: open http://evil.example/device and enter ABCD-EFGH»",
    );
  });

  it("shows terminal escapes, bidi overrides and zero-width characters instead of obeying them", () => {
    expect(quoteForeign("\u001b[2K\r\u202eevil\u200b\u0085")).toBe("«\\x1b[2K\\r\\u202eevil\\u200b\\x85»");
  });

  it("cuts long text and says how much was left out", () => {
    const quoted = quoteForeign("x".repeat(250), 200);
    expect(quoted).toBe(`«${"x".repeat(200)}… (50 more characters)»`);
  });

  it("counts characters, not UTF-16 units, so a cut never splits one", () => {
    expect(quoteForeign("😀😀😀", 2)).toBe("«😀😀… (1 more characters)»");
  });

  it("leaves printable text, tabs aside, as it was", () => {
    expect(escapeControls("profile dev.admin@corp → ok\tdone")).toBe("profile dev.admin@corp → ok\\tdone");
  });
});

describe("logger", () => {
  it("writes every message as one line, whatever it holds", () => {
    const lines: string[] = [];
    const logger = createLogger({ debug: true, write: (line) => lines.push(line) });
    logger.info("container a\nwarning: forged");
    logger.warn("b\u001b]0;title\u0007");
    expect(lines[0]).toBe("container a\\nwarning: forged");
    expect(lines[1]).toBe("warning: b\\x1b]0;title\\x07");
  });
});
