import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "./cli-support.js";

// npm runs scripts with cmd.exe on Windows: nothing POSIX-only may appear in the ones a user runs.
const POSIX_ONLY: readonly [RegExp, string][] = [
  [/\brm\s+-/, "rm -…"],
  [/\btest\s+-[a-z]\b/, "test -…"],
  [/\[\s+-[a-z]\s/, "[ -… ]"],
  [/;/, "a ; chain"],
  [/(^|[\s&|])(ba)?sh\s/, "sh"],
  [/\b(cp|mv|mkdir|install|chmod|ln)\s/, "a coreutils command"],
  [/\$[A-Za-z_{(]/, "a $VARIABLE"],
  [/'/, "single quotes (cmd.exe passes them on)"],
];

describe("package.json scripts", () => {
  it("run under npm on Windows: build, bundle and demo use node, not a POSIX shell's commands", async () => {
    const { scripts } = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const found: string[] = [];
    for (const name of ["build", "bundle", "demo", "pretest", "test", "typecheck", "lint", "bench"]) {
      const line = scripts[name];
      expect(line, `script ${name}`).toBeDefined();
      for (const [pattern, what] of POSIX_ONLY) {
        if (pattern.test(line ?? "")) found.push(`${name}: ${what} in ${JSON.stringify(line)}`);
      }
    }
    expect(found).toEqual([]);
  });
});
