import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTestHome, type TestHome } from "../../test/support/host.js";
import type { AttachedTarget } from "./target-store.js";
import { targetStoreFile, updateTarget } from "./target-store.js";
import type { RemoteTargetState } from "./target-status.js";
import { remoteTargetsReport } from "./target-status.js";

let home: TestHome;

const attached = (name: string, profiles: string[]): AttachedTarget => ({
  route: { platform: "codespace", name, user: "codespace" },
  profiles,
  probe: { uid: 1000, gid: 1000, layout: "tmpfs" },
  attachedAt: "2026-12-06T03:00:00Z",
});

beforeEach(async () => {
  home = await makeTestHome();
  const file = targetStoreFile(home.env, home.home);
  await updateTarget(file, "codespace:cs-a", attached("cs-a", ["dev"]));
  await updateTarget(file, "codespace:cs-b", attached("cs-b", ["dev", "prod"]));
  await updateTarget(file, "codespace:cs-c", attached("cs-c", ["dev"]));
});

afterEach(async () => {
  await home[Symbol.asyncDispose]();
});

describe("remoteTargetsReport", () => {
  it("joins each attached target with what the agent last saw of that attachment, and of no other", async () => {
    const seen: RemoteTargetState[] = [
      {
        target: "codespace:cs-a",
        profiles: ["dev"],
        state: "available",
        lastPush: "2026-12-06T03:10:00Z",
        credentialExpiry: "2026-12-06T04:10:00Z",
      },
      // seen before cs-b was attached again with another profile list: not its state now
      { target: "codespace:cs-b", profiles: ["dev"], state: "stopped", reason: "Shutdown" },
      // detached since
      { target: "codespace:cs-gone", profiles: ["dev"], state: "available" },
    ];
    const report = await remoteTargetsReport(home.deps(), seen);
    expect(report.problem).toBeUndefined();
    expect(report.targets.map((t) => [t.target, t.seen?.state, t.seen?.lastPush])).toEqual([
      ["codespace:cs-a", "available", "2026-12-06T03:10:00Z"],
      ["codespace:cs-b", undefined, undefined],
      ["codespace:cs-c", undefined, undefined],
    ]);
  });
});
