import type { ExpectStatic } from "vitest";
import { runCli, snapshotTree, type TestHome } from "../cli-support.js";

/**
 * DESIGN.md invariant 7 as one check: a bad input gives one `sso-docker: …` line naming the
 * profile or file, a `next:` line with the command to run, a non-zero exit, nothing on stdout,
 * no secret (with --debug too), and not one byte changed in HOME.
 */

export interface RefusalContext {
  home: TestHome;
  env: Record<string, string>;
  /** Everything that must never be printed. */
  secrets: readonly string[];
}

export interface ExpectedRefusal {
  /** The `sso-docker: …` line's text after "sso-docker: ". */
  message: string;
  /** The `  next: …` line's text after "next: ". */
  next: string;
  /** Before each of the two runs (e.g. arm an injected failure). */
  arm?: () => void;
  env?: Record<string, string>;
}

export async function expectRefused(
  expect: ExpectStatic,
  ctx: RefusalContext,
  args: readonly string[],
  expected: ExpectedRefusal,
): Promise<void> {
  const env = { ...ctx.env, ...expected.env };
  const pairs: string[][] = [];
  for (const debug of [false, true]) {
    const before = await snapshotTree(ctx.home.home);
    expected.arm?.();
    const result = await runCli(debug ? ["--debug", ...args] : args, env);
    const output = result.stdout + result.stderr;
    expect(result.timedOut).toBe(false);
    expect(result.exitCode, result.stderr).not.toBe(0);
    expect(result.stdout).toBe("");
    for (const secret of ctx.secrets) expect(output).not.toContain(secret);
    expect(await snapshotTree(ctx.home.home)).toEqual(before);

    const stderr = result.stderr.split("\n");
    expect(stderr.filter((line) => line.startsWith("sso-docker:"))).toHaveLength(1);
    const at = stderr.findIndex((line) => line.startsWith("sso-docker:"));
    pairs.push(stderr.slice(at, at + 2));
    // Without --debug the two lines are the whole output.
    if (!debug) expect(at).toBe(stderr.length - 2);
  }
  const [plain, debug] = pairs;
  // --debug adds detail after the two lines, never changes them.
  expect(debug).toEqual(plain);
  expect(plain?.[0]).toBe(`sso-docker: ${expected.message}`);
  expect(plain?.[1]).toBe(`  next: ${expected.next}`);
}
