import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import { identityKey } from "../credentials/role-credentials.js";
import type { ContainerDetails, ExecRequest, ExecResult } from "../docker/engine.js";
import { ExecTimeoutError } from "../docker/errors.js";
import { ProfileError } from "../runtime/errors.js";
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
  secretAccessKey: "wJalrXUtnFEMIK7MDENGbPxRfiCY",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
  expiration: Date.now() + 3_600_000,
});

let home: TestHome;
beforeAll(async () => {
  home = await makeTestHome({ config: sampleConfig("https://example.awsapps.com/start") });
});
afterAll(() => home[Symbol.asyncDispose]());

/** A syncer whose execs wait for the test: `execs[n].end(result)` or `.fail(error)`. */
function harness(fetch?: (r: ResolvedProfile, syncer: ContainerSyncer) => Promise<RoleCredentials>) {
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
  const guard = {
    obtain: (r: ResolvedProfile) => (fetch ? fetch(r, syncer) : Promise.resolve(current)),
  } as unknown as SessionGuard;
  const deps = home.deps();
  const emitter = new AgentEmitter();
  const failures: string[] = [];
  emitter.on("pushFailed", (e) => failures.push(e.error));
  const noted: string[][] = [];
  emitter.on("noted", (e) => noted.push(e.notes.map((n) => n.text)));
  const retried: string[] = [];
  const syncer: ContainerSyncer = new ContainerSyncer({
    deps,
    engine: fakeEngine({ exec, inspectContainer: () => Promise.resolve(DETAILS) }),
    guard,
    emitter,
    signal: new AbortController().signal,
    rules: DEFAULT_RULES,
    grantKey: GRANT_KEY,
    scheduleRefresh: () => undefined,
    retryFetch: (identity) => retried.push(identity),
    onChange: () => undefined,
  });
  const setCredentials = (accessKeyId: string) => (current = credentials(accessKeyId));
  return { syncer, execs, nthExec, setCredentials, failures, noted, retried };
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

/** GetRoleCredentials refused for the role, as the credential source and the guard report it. */
function refusedRole(r: ResolvedProfile, syncer: ContainerSyncer): Promise<RoleCredentials> {
  const cause = Object.assign(new Error("No access"), { name: "ForbiddenException" });
  const error = new ProfileError("IAM Identity Center refused GetRoleCredentials for profile dev.", {
    cause,
  });
  syncer.onSupply({
    kind: "failed",
    identity: identityKey(r.identity),
    resolved: r,
    error,
    transient: false,
  });
  return Promise.reject(error);
}

describe("ContainerSyncer status notes", () => {
  it("leaves a note, and no credentials, in a container whose role is refused; status shows the same words", async () => {
    const { syncer, nthExec, execs, noted, retried } = harness(refusedRole);
    const started = syncer.request("c1", "start");
    const note = await nthExec(1);
    const script = String(note.request.stdin);
    expect(note.request.user).toBe("0:0");
    expect(script).toMatch(/put "\$T" 'dev\.note'/);
    expect(script).not.toMatch(/put '[^']*' 'dev\.json'|chown -h "\$uid/);
    expect(script).not.toContain("printf is not a builtin");
    const text =
      "the agent on the host cannot get credentials for profile dev: role AdministratorAccess in account 111111111111 is no longer assigned to you (ForbiddenException)";
    expect(script).toContain(text);
    note.end(OK);
    await started;
    await settle();
    const managed = syncer.containers.get("c1");
    const shown = managed?.lastError ?? "";
    expect(shown.startsWith(`${text} — since `), shown).toBe(true);
    expect(shown.endsWith("Z; on the host run `sso-docker configure --profile dev`"), shown).toBe(true);
    expect(noted).toEqual([[managed?.lastError]]);
    expect(retried).toHaveLength(1);
    // The same refusal again (a reconcile) writes nothing new.
    await syncer.request("c1", "reconcile");
    await settle();
    expect(execs).toHaveLength(1);
  });

  it("tells the container why its shell refused the credentials, then clears the note with the next push", async () => {
    const { syncer, nthExec, failures, noted } = harness();
    const started = syncer.request("c1", "start");
    (await nthExec(1)).end({
      exitCode: 14,
      stdout: "",
      stderr: "sso-docker: printf is not a builtin of /bin/sh",
    });
    await started;
    const note = await nthExec(2);
    expect(String(note.request.stdin)).not.toMatch(
      /wJalrXUtnFEMIK7MDENGbPxRfiCY|IQoJb3JpZ2luX2VjEXAMPLETOKEN/,
    );
    note.end(OK);
    await settle();
    const managed = syncer.containers.get("c1");
    if (!managed) throw new Error("the container is not managed");
    expect(failures).toEqual([
      "The /bin/sh of container box has no printf builtin, so writing credentials would expose them in process arguments.",
    ]);
    expect(managed.lastError).toMatch(
      /^the agent on the host cannot get credentials for profile dev: The \/bin\/sh of container box has no printf builtin, so writing credentials would expose them in process arguments — since .*; on the host run `sso-docker status`$/,
    );
    expect(noted).toEqual([[managed.lastError]]);
    const pushed = syncer.push(managed, "reconcile");
    const push = await nthExec(3);
    expect(String(push.request.stdin)).toContain('for f in *.note; do [ ! -f "$f" ] || rm -f -- "$f"; done');
    push.end(OK);
    expect(await pushed).toBe("pushed");
    expect(managed.lastError).toBeUndefined();
    expect(managed.notes.held.size).toBe(0);
  });

  it("never runs a note push beside a credentials push in the same container", async () => {
    const { syncer, nthExec, execs } = harness();
    const started = syncer.request("c1", "start");
    const push = await nthExec(1);
    const managed = syncer.containers.get("c1");
    const resolved = managed?.resolved[0];
    if (!managed || !resolved) throw new Error("the container is not managed");
    const error = Object.assign(new Error("No access"), { name: "ForbiddenException" });
    syncer.onSupply({
      kind: "failed",
      identity: identityKey(resolved.identity),
      resolved,
      error,
      transient: false,
    });
    await settle();
    expect(execs).toHaveLength(1);
    push.end(OK);
    await started;
    // Reported after the credentials were fetched: the note still belongs there.
    const note = await nthExec(2);
    expect(String(note.request.stdin)).toContain("dev.note");
  });
});
