import { mkdir, mkdtemp, readdir, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createDeps } from "../runtime/deps.js";
import { plansDir, writePlan } from "./run-plan.js";

let home: string | undefined;
afterEach(async () => {
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

describe("writePlan", () => {
  it("leaves the plan strictly newer than a cache written in the same clock tick", async () => {
    home = await mkdtemp(join(tmpdir(), "sso-docker-plan-"));
    const deps = createDeps({ env: { HOME: home } });
    await mkdir(deps.paths.cliCacheDir, { recursive: true });
    // As a cache write stamped at the very time the plan's write gets, or a little after.
    const soon = new Date(Date.now() + 30);
    await utimes(deps.paths.cliCacheDir, soon, soon);
    await writePlan(deps, {
      given: ["dev"],
      names: ["dev"],
      until: Date.now() + 600_000,
      image: "img",
      options: ["--label", "a=b"],
      volume: "v",
    });
    const dir = plansDir(deps.env, home);
    const [plan] = await readdir(dir);
    const [planStat, cacheStat] = await Promise.all([
      stat(join(dir, plan ?? ""), { bigint: true }),
      stat(deps.paths.cliCacheDir, { bigint: true }),
    ]);
    expect(planStat.mtimeNs > cacheStat.mtimeNs).toBe(true);
  });
});
