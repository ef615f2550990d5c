import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoginOptions, LoginResult } from "../auth/login.js";
import { tokenCachePath, writeSsoToken } from "../aws-files/token-cache.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { resolveProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import { identityKey } from "../credentials/role-credentials.js";
import { ManualClock } from "../runtime/clock.js";
import type { Deps } from "../runtime/deps.js";
import { createDeps } from "../runtime/deps.js";
import { CancelledError, LoginError, ProfileError, SessionExpiredError } from "../runtime/errors.js";
import { createLogger } from "../runtime/logger.js";
import { isoSeconds } from "../runtime/time-format.js";
import type { AgentEventName, AgentEvents } from "./agent-events.js";
import { AgentEmitter } from "./agent-events.js";
import { SessionGuard } from "./session-guard.js";

const POLL_MS = 1000;
const LOGIN_RETRY_MS = 60_000;
const RETRY = { baseMs: 100, maxMs: 400 };

const CONFIG = [
  "[profile u-app]\nsso_session = unit\nsso_account_id = 111111111111\nsso_role_name = Admin\n",
  "[profile u-ops]\nsso_session = unit\nsso_account_id = 222222222222\nsso_role_name = Ops\n",
  "[profile u-ro]\nsso_session = unit\nsso_account_id = 333333333333\nsso_role_name = ReadOnly\n",
  "[sso-session unit]\nsso_start_url = https://unit.awsapps.com/start\nsso_region = us-east-1\n",
].join("\n");

/** A login the test plays the person for: it stays pending until settled, and honours its signal. */
interface PendingLogin {
  options: LoginOptions;
  approve(): void;
  fail(err: Error): void;
}

/** What the guard asks of the credential source, answered by the test's current rule. */
class FakeSource {
  calls = 0;
  readonly forgotten: string[] = [];
  answer: (resolved: ResolvedProfile) => Promise<RoleCredentials> = (r) => Promise.resolve(credentialsFor(r));

  get(resolved: ResolvedProfile): Promise<RoleCredentials> {
    this.calls++;
    return this.answer(resolved);
  }

  forget(resolved: ResolvedProfile): void {
    this.forgotten.push(identityKey(resolved.identity));
  }
}

let clock: ManualClock;
let home: string;
let deps: Deps;
let lines: string[];
let source: FakeSource;
let logins: PendingLogin[];
let events: { name: AgentEventName; event: unknown }[];
let signedInAgain: string[][];
let agent: AbortController;
let guard: SessionGuard;
let profiles: Record<"app" | "ops" | "ro", ResolvedProfile>;

function credentialsFor(resolved: ResolvedProfile): RoleCredentials {
  return {
    accessKeyId: `ASIA${resolved.identity.accountId}`,
    secretAccessKey: "secret",
    sessionToken: "session",
    expiration: clock.now() + 3600_000,
  };
}

const tokenPath = () => tokenCachePath(deps.paths.ssoCacheDir, profiles.app.session);

/** Writes the session's token file as a login (the agent's or a terminal's) would. */
async function writeToken(accessToken: string, expiresInMs: number): Promise<void> {
  await writeSsoToken(tokenPath(), {
    startUrl: profiles.app.session.startUrl,
    region: "us-east-1",
    accessToken,
    expiresAt: isoSeconds(clock.now() + expiresInMs),
  });
}

/** The session is dead: every fetch fails as getAccessToken does for an expired, unrefreshable token (no cause). */
function sessionDeadUntil(isSignedIn: () => boolean): void {
  source.answer = (r) =>
    isSignedIn()
      ? Promise.resolve(credentialsFor(r))
      : Promise.reject(new SessionExpiredError("The SSO session has expired.", { hint: "sso-docker login" }));
}

/** Waits (bounded) until `condition` holds: the guard does real file I/O between its sleeps. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what} (sleepers ${clock.pending}, logins ${logins.length}, fetches ${source.calls}); log:\n${lines.join("\n")}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function emitted<K extends AgentEventName>(name: K): AgentEvents[K][] {
  return events.filter((e) => e.name === name).map((e) => e.event as AgentEvents[K]);
}

beforeEach(async () => {
  clock = new ManualClock(Date.UTC(2026, 0, 1));
  home = await mkdtemp(join(tmpdir(), "sso-docker-guard-"));
  await mkdir(join(home, ".aws"), { mode: 0o700 });
  await writeFile(join(home, ".aws", "config"), CONFIG);
  lines = [];
  deps = createDeps({
    env: { HOME: home },
    clock,
    platform: "linux",
    logger: createLogger({ debug: false, write: (line) => lines.push(line) }),
  });
  profiles = {
    app: await resolveProfile(deps, "u-app"),
    ops: await resolveProfile(deps, "u-ops"),
    ro: await resolveProfile(deps, "u-ro"),
  };
  source = new FakeSource();
  logins = [];
  events = [];
  signedInAgain = [];
  agent = new AbortController();
  const emitter = new AgentEmitter();
  for (const name of ["loginStarted", "loginFinished", "signedOut", "fetchFailed"] as const)
    emitter.on(name, (event) => events.push({ name, event }));
  guard = new SessionGuard({
    deps,
    source,
    emitter,
    signal: agent.signal,
    retry: RETRY,
    loginRetryMs: LOGIN_RETRY_MS,
    signedOutPollMs: POLL_MS,
    login: {
      openBrowser: false,
      useDeviceCode: true,
      run: (_deps, _session, options) =>
        new Promise<LoginResult>((resolve, reject) => {
          options.signal?.addEventListener("abort", () => {
            reject(new CancelledError("Login cancelled."));
          });
          logins.push({
            options,
            approve: () => {
              resolve({ expiresAt: clock.now() + 3600_000, flow: "device", reused: false });
            },
            fail: reject,
          });
        }),
    },
    onChange: () => undefined,
    onSignedIn: (identities) => signedInAgain.push(identities),
  });
});

afterEach(async () => {
  agent.abort(new Error("test over"));
  await rm(home, { recursive: true, force: true });
});

describe("SessionGuard", () => {
  it("asks for one login however many identities and rounds hit a dead session whose error has no cause", async () => {
    await writeToken("dead", -1000);
    let signedIn = false;
    sessionDeadUntil(() => signedIn);
    const waiting = [profiles.app, profiles.ops, profiles.ro, profiles.app, profiles.ops].map((r, i) =>
      guard.obtain(r, { signal: agent.signal, persistent: i % 2 === 0 }),
    );
    await until(() => source.calls === 5 && logins.length === 1, "every caller to reach the one login");
    // The session watcher and the look-out for a sign-in elsewhere: the guard is parked.
    await until(() => clock.pending === 2, "the guard waiting on the person");
    expect(logins[0]?.options.background).toBe(true);
    await writeToken("fresh", 3600_000);
    signedIn = true;
    logins[0]?.approve();
    const got = await Promise.all(waiting);
    expect(got.map((c) => c.accessKeyId)).toEqual([
      "ASIA111111111111",
      "ASIA222222222222",
      "ASIA333333333333",
      "ASIA111111111111",
      "ASIA222222222222",
    ]);
    expect(logins).toHaveLength(1);
    expect(emitted("loginStarted")).toHaveLength(1);
    expect(emitted("loginFinished")).toEqual([
      { session: "sso-session unit", ok: true, elsewhere: false, at: clock.now() },
    ]);
  });

  it("gives up its own prompt and resumes when a sign-in made in a terminal lands", async () => {
    await writeToken("revoked", 3600_000);
    let signedIn = false;
    sessionDeadUntil(() => signedIn);
    const waiting = guard.obtain(profiles.app, { signal: agent.signal, persistent: true });
    await until(() => logins.length === 1 && clock.pending === 2, "the agent's login to wait on the person");
    // `sso-docker login` in a terminal writes the token; nobody answers the agent's prompt.
    await writeToken("from-the-terminal", 3600_000);
    signedIn = true;
    await clock.advance(POLL_MS);
    expect((await waiting).accessKeyId).toBe("ASIA111111111111");
    expect(logins[0]?.options.signal?.aborted).toBe(true);
    expect(emitted("loginFinished")).toMatchObject([{ ok: true, elsewhere: true }]);
    expect(lines.join("\n")).toContain("its own sign-in request is withdrawn");
  });

  it("after a failed login asks again no sooner than loginRetryMs, one login at a time, naming the command", async () => {
    await writeToken("dead", -1000);
    let signedIn = false;
    sessionDeadUntil(() => signedIn);
    const waiting = [profiles.app, profiles.ops].map((r) => guard.obtain(r, { signal: agent.signal }));
    await until(() => logins.length === 1 && clock.pending === 2, "the first login");
    logins[0]?.fail(new LoginError("The login for profile u-app was denied in the browser."));
    // Parked again: session watcher, sign-in look-out, and the cooling-off before the next prompt.
    await until(() => clock.pending === 3, "the cooling-off after the failed login");
    expect(lines.join("\n")).toContain(
      "sign-in to sso-session unit did not complete: The login for profile u-app was denied in the browser; asking again in 60 s (or run `sso-docker login --profile u-app`)",
    );
    await clock.advance(LOGIN_RETRY_MS - 1);
    await until(() => clock.pending === 3, "the guard to settle one millisecond before the retry");
    expect(logins).toHaveLength(1);
    await clock.advance(1);
    await until(() => logins.length === 2, "the second login");
    await until(() => clock.pending === 2, "the second login waiting on the person");
    expect(logins).toHaveLength(2);
    await writeToken("fresh", 3600_000);
    signedIn = true;
    logins[1]?.approve();
    expect((await Promise.all(waiting)).map((c) => c.accessKeyId)).toEqual([
      "ASIA111111111111",
      "ASIA222222222222",
    ]);
    expect(emitted("loginFinished").map((e) => e.ok)).toEqual([false, true]);
  });

  it("retries transient errors with capped backoff; a persistent refresh never gives up on any error", async () => {
    await writeToken("valid", 3600_000);
    const failures = [
      Object.assign(new Error("Service Unavailable"), { $metadata: { httpStatusCode: 503 } }),
      new ProfileError("IAM Identity Center refused GetRoleCredentials for profile u-app."),
      new ProfileError("IAM Identity Center refused GetRoleCredentials for profile u-app."),
      new ProfileError("IAM Identity Center refused GetRoleCredentials for profile u-app."),
    ];
    source.answer = (r) => {
      const next = failures.shift();
      return next ? Promise.reject(next) : Promise.resolve(credentialsFor(r));
    };
    const refreshed = guard.obtain(profiles.app, { signal: agent.signal, persistent: true });
    for (const delay of [100, 200, 400, 400]) {
      await until(() => clock.pending === 2, `the ${delay} ms backoff`);
      await clock.advance(delay);
    }
    expect((await refreshed).accessKeyId).toBe("ASIA111111111111");
    expect(emitted("fetchFailed").map((e) => e.retryInMs)).toEqual([100, 200, 400, 400]);
    expect(logins).toHaveLength(0);

    failures.push(new ProfileError("refused"));
    await expect(guard.obtain(profiles.app, { signal: agent.signal })).rejects.toThrow("refused");
  });

  it("while signed out waits without prompting, then resumes once a token file appears", async () => {
    const waiting = guard.obtain(profiles.app, { signal: agent.signal, persistent: true });
    await until(() => emitted("signedOut").length === 1 && clock.pending === 2, "the sign-out to be noticed");
    expect(source.forgotten).toContain(identityKey(profiles.app.identity));
    await writeToken("signed-in-again", 3600_000);
    await clock.advance(POLL_MS);
    expect((await waiting).accessKeyId).toBe("ASIA111111111111");
    expect(logins).toHaveLength(0);
    expect(lines.join("\n")).toContain(
      "not signed in to sso-session unit: its containers get credentials again after `sso-docker login --profile u-app`",
    );
  });

  it("notices a logout by itself, forgets the session's credentials, and reports its identities after the next sign-in", async () => {
    await writeToken("valid", 3600_000);
    await guard.obtain(profiles.app, { signal: agent.signal });
    await guard.obtain(profiles.ops, { signal: agent.signal });
    await until(() => clock.pending === 1, "the session watcher");
    await rm(tokenPath());
    await clock.advance(POLL_MS);
    await until(() => emitted("signedOut").length === 1 && clock.pending === 1, "the logout to be noticed");
    expect(source.forgotten.sort()).toEqual(
      [identityKey(profiles.app.identity), identityKey(profiles.ops.identity)].sort(),
    );
    expect(signedInAgain).toEqual([]);
    await writeToken("signed-in-again", 3600_000);
    await clock.advance(POLL_MS);
    await until(() => signedInAgain.length === 1, "the sign-in to be reported");
    expect(signedInAgain[0]?.sort()).toEqual(
      [identityKey(profiles.app.identity), identityKey(profiles.ops.identity)].sort(),
    );
    expect(logins).toHaveLength(0);
  });

  it("stopping the agent ends every wait and the pending login; one caller leaving does not", async () => {
    await writeToken("dead", -1000);
    sessionDeadUntil(() => false);
    const container = new AbortController();
    const leaving = guard.obtain(profiles.app, { signal: container.signal });
    const staying = guard.obtain(profiles.ops, { signal: agent.signal, persistent: true });
    await until(() => logins.length === 1 && source.calls === 2, "the login");
    container.abort(new Error("container stopped"));
    await expect(leaving).rejects.toThrow("container stopped");
    expect(logins[0]?.options.signal?.aborted).toBe(false);
    agent.abort(new Error("the agent is stopping"));
    await expect(staying).rejects.toThrow("the agent is stopping");
    expect(logins[0]?.options.signal?.aborted).toBe(true);
  });
});
