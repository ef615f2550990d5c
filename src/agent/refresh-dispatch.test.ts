import { describe, expect, it } from "vitest";
import { ManualClock } from "../runtime/clock.js";
import type { ManagedContainer, PushOutcome } from "./managed-container.js";
import { describeTally, RefreshDispatcher } from "./refresh-dispatch.js";

const WANT = { identity: "sso|1|Admin", accessKeyId: "ASIA2" };

function container(name: string, lastError?: string, credentialExpiry?: number): ManagedContainer {
  return {
    details: { name },
    ...(lastError === undefined ? {} : { lastError }),
    ...(credentialExpiry === undefined ? {} : { credentialExpiry }),
  } as ManagedContainer;
}

/** Pushes that end when the test says so, by container name. */
function pushes() {
  const started: string[] = [];
  const finish = new Map<string, (outcome: PushOutcome) => void>();
  const push = (managed: ManagedContainer) => {
    started.push(managed.details.name);
    return new Promise<PushOutcome>((resolve) => finish.set(managed.details.name, resolve));
  };
  return { started, finish: (name: string, outcome: PushOutcome) => finish.get(name)?.(outcome), push };
}

function dispatcher(push: ReturnType<typeof pushes>["push"], concurrency = 1) {
  const clock = new ManualClock();
  const controller = new AbortController();
  return { clock, d: new RefreshDispatcher({ push, concurrency, clock, signal: controller.signal }) };
}

describe("RefreshDispatcher", () => {
  it("pushes to containers whose last push failed after the others", async () => {
    const p = pushes();
    const { clock, d } = dispatcher(p.push);
    const done = d.dispatch(WANT, [container("hung", "timed out"), container("good"), container("late")]);
    await clock.advance(0);
    expect(p.started).toEqual(["good"]);
    p.finish("good", "pushed");
    await clock.advance(0);
    p.finish("late", "current");
    await clock.advance(0);
    p.finish("hung", "failed");
    const tally = await done;
    expect(p.started).toEqual(["good", "late", "hung"]);
    expect(tally).toEqual({ pushed: ["good"], current: 1, busy: [], failed: ["hung"], skipped: 0 });
  });

  it("pushes first to the containers holding the oldest credentials: what a superseded round left undone", async () => {
    const p = pushes();
    const { clock, d } = dispatcher(p.push);
    const users = [
      container("current-1", undefined, 60_000),
      container("failed", "timed out", 10_000),
      container("left-by-last-round", undefined, 30_000),
      container("current-2", undefined, 60_000),
      container("never-pushed"),
    ];
    const done = d.dispatch(WANT, users);
    for (let i = 0; i < users.length; i++) {
      await clock.advance(0);
      p.finish(p.started.at(-1) ?? "", "pushed");
    }
    await done;
    expect(p.started).toEqual(["never-pushed", "left-by-last-round", "current-1", "current-2", "failed"]);
  });

  it("frees a slot held by a push past its patience, and waits for it before the tally", async () => {
    const p = pushes();
    const { clock, d } = dispatcher(p.push);
    let tallied = false;
    const done = d.dispatch(WANT, [container("hangs"), container("good")]).then((t) => {
      tallied = true;
      return t;
    });
    await clock.advance(1999);
    expect(p.started).toEqual(["hangs"]);
    await clock.advance(1);
    expect(p.started).toEqual(["hangs", "good"]);
    p.finish("good", "pushed");
    await clock.advance(0);
    expect(tallied).toBe(false);
    p.finish("hangs", "failed"); // its exec time limit
    expect(await done).toMatchObject({ pushed: ["good"], failed: ["hangs"] });
  });

  it("leaves what an older round of the identity has not started to the newer one", async () => {
    const p = pushes();
    const { clock, d } = dispatcher(p.push);
    const older = d.dispatch(WANT, [container("a"), container("b"), container("c")]);
    await clock.advance(0);
    const newer = d.dispatch({ ...WANT, accessKeyId: "ASIA3" }, [container("b"), container("c")]);
    await clock.advance(0);
    p.finish("a", "pushed");
    await clock.advance(0);
    expect(p.started).toEqual(["a", "b"]);
    expect(await older).toMatchObject({ pushed: ["a"], skipped: 2 });
    p.finish("b", "pushed");
    await clock.advance(0);
    p.finish("c", "busy");
    expect(await newer).toMatchObject({ pushed: ["b"], busy: ["c"], skipped: 0 });
  });

  it("says what happened in one line, naming at most five containers per kind", () => {
    const busy = Array.from({ length: 7 }, (_, i) => `hung-${String(i)}`);
    expect(describeTally({ pushed: ["good"], current: 3, busy, failed: ["flood"], skipped: 0 })).toBe(
      "1 pushed, 3 current, 1 failed (flood), 7 busy with an earlier push (hung-0, hung-1, hung-2, hung-3, hung-4, and 2 more)",
    );
  });
});
