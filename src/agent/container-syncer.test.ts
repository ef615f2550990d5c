import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import { identityKey } from "../credentials/role-credentials.js";
import type { ContainerDetails, ExecRequest, ExecResult } from "../docker/engine.js";
import { ExecTimeoutError } from "../docker/errors.js";
import { makeTestHome, sampleConfig, type TestHome } from "../../test/support/host.js";
import { fakeEngine } from "../../test/support/fake-engine.js";
import { AgentEmitter } from "./agent-events.js";
import { ContainerSyncer } from "./container-syncer.js";
import { GRANT_LABEL, grantFor } from "./grant.js";
import { DEFAULT_RULES } from "./participation.js";
import type { SessionGuard } from "./session-guard.js";

// Unit level: the syncer's pushes to one container with an exec the test ends by hand.
const GRANT_KEY = randomBytes(32);
const DETAILS: ContainerDetails = {
  id: "c1",
  name: "box",
  image: "img",
  user: "",
  env: {},
  labels: { "sso-docker.profiles": "dev", [GRANT_LABEL]: grantFor(GRANT_KEY, ["dev"]) },
  running: true,
  paused: false,
  ipcMode: "private",
  tmpfsTargets: ["/run/sso-docker"],
  readOnlyMounts: [],
};
const OK: ExecResult = { exitCode: 0, stdout: "user 0 0\n", stderr: "" };

const credentials = (accessKeyId: string): RoleCredentials => ({
  accessKeyId,
  secretAccessKey: "secret",
  sessionToken: "token",
  expiration: Date.now() + 3_600_000,
});

let home: TestHome;
beforeAll(async () => {
  home = await makeTestHome({ config: sampleConfig("https://example.awsapps.com/start") });
});
afterAll(() => home[Symbol.asyncDispose]());

/** A syncer whose execs wait for the test: `execs[n].end(result)` or `.fail(error)`. */
function harness() {
  const execs: { request: ExecRequest; end: (r: ExecResult) => void; fail: (e: Error) => void }[] = [];
  const waiters: (() => void)[] = [];
  const exec = (_id: string, request: ExecRequest) =>
    new Promise<ExecResult>((end, fail) => {
      execs.push({ request, end, fail });
      for (const wake of waiters.splice(0)) wake();
    });
  const nthExec = async (n: number) => {
    while (execs.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    return execs[n - 1] as (typeof execs)[number];
  };
  let current = credentials("ASIA1");
  const guard = { obtain: (_r: ResolvedProfile) => Promise.resolve(current) } as unknown as SessionGuard;
  const deps = home.deps();
  const emitter = new AgentEmitter();
  const failures: string[] = [];
  emitter.on("pushFailed", (e) => failures.push(e.error));
  const syncer = new ContainerSyncer({
    deps,
    engine: fakeEngine({ exec, inspectContainer: () => Promise.resolve(DETAILS) }),
    guard,
    emitter,
    signal: new AbortController().signal,
    rules: DEFAULT_RULES,
    grantKey: GRANT_KEY,
    scheduleRefresh: () => undefined,
    onChange: () => undefined,
  });
  const setCredentials = (accessKeyId: string) => (current = credentials(accessKeyId));
  return { syncer, execs, nthExec, setCredentials, failures };
}

/** Lets every pending continuation run (no exec is answered meanwhile). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("ContainerSyncer pushes", () => {
  it("skips a container with a push in flight and gives it ONE more push, with the newer credentials", async () => {
    const { syncer, execs, nthExec, setCredentials } = harness();
    const started = syncer.request("c1", "start");
    const first = await nthExec(1);
    const managed = syncer.containers.get("c1");
    const resolved = managed?.resolved[0];
    if (!managed || !resolved) throw new Error("the container is not managed");
    const key = identityKey(resolved.identity);
    setCredentials("ASIA2");
    const want = { identity: key, accessKeyId: "ASIA2" };
    // Two rounds while the first push hangs: neither waits for it nor queues a push of its own.
    expect(await syncer.push(managed, "refresh", want)).toBe("busy");
    expect(await syncer.push(managed, "refresh", want)).toBe("busy");
    expect(execs).toHaveLength(1);
    first.end(OK);
    await started;
    const followUp = await nthExec(2);
    expect(String(followUp.request.stdin)).toContain("ASIA2");
    followUp.end(OK);
    await settle();
    expect(execs).toHaveLength(2);
    expect(managed.pushedKeys.get(key)).toBe("ASIA2");
    expect(await syncer.push(managed, "refresh", want)).toBe("current");
    expect(execs).toHaveLength(2);
  });

  it("records a push that timed out as failed, retries only when asked again, and forgets what it held", async () => {
    const { syncer, execs, nthExec, failures } = harness();
    const started = syncer.request("c1", "start");
    (await nthExec(1)).end(OK);
    await started;
    const managed = syncer.containers.get("c1");
    if (!managed) throw new Error("the container is not managed");
    expect(managed.pushedKeys.size).toBe(1);
    const pushed = syncer.push(managed, "reconcile");
    (await nthExec(2)).fail(new ExecTimeoutError("c1", 20_000));
    expect(await pushed).toBe("failed");
    expect(managed.lastError).toBe(
      "A command sso-docker ran in container c1 did not finish within 20 s; it was abandoned.",
    );
    expect(failures).toEqual([managed.lastError]);
    expect(managed.pushedKeys.size).toBe(0);
    await settle();
    expect(execs).toHaveLength(2);
    expect(managed.busy).toBe(false);
    const want = { identity: "any", accessKeyId: "ASIA1" };
    const retried = syncer.push(managed, "refresh", want);
    (await nthExec(3)).end(OK);
    expect(await retried).toBe("pushed");
    expect(managed.lastError).toBeUndefined();
  });
});
