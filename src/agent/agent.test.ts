import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tokenCachePath, writeSsoToken } from "../aws-files/token-cache.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import type { ContainerDetails, DockerEngine, ExecRequest, ExecResult } from "../docker/engine.js";
import { ExecTimeoutError } from "../docker/errors.js";
import type { DockerEvent } from "../docker/event-stream.js";
import { ManualClock } from "../runtime/clock.js";
import { DockerError } from "../runtime/errors.js";
import { createLogger } from "../runtime/logger.js";
import { isoSeconds } from "../runtime/time-format.js";
import { makeTestHome, type TestHome } from "../../test/support/host.js";
import { fakeEngine } from "../../test/support/fake-engine.js";
import { grantLabels } from "../../test/support/grant.js";
import type { AgentHandle } from "./agent.js";
import { startAgent } from "./agent.js";

// The agent's core on a ManualClock: a fake engine whose containers record what they were sent,
// and a fake GetRoleCredentials beneath the agent's own caching. Each test states what a user
// would notice: when each container's credentials are replaced, and how many calls were made.

const LIFETIME_MS = 60_000;
/** The scheduler's slack over the due time (RefreshScheduler's default). */
const SLACK_MS = 100;
/** Credentials of lifetime L are replaced when L/2 remains: a round every L/2 + slack. */
const PERIOD_MS = LIFETIME_MS / 2 + SLACK_MS;
const RETRY = { baseMs: 1000, maxMs: 4000 };
const START = Date.UTC(2026, 0, 1);
const OK: ExecResult = { exitCode: 0, stdout: "user 0 0\n", stderr: "" };
/** The engine client's exec time limit (DEFAULT_EXEC_TIMEOUT_MS), played on the test's clock. */
const EXEC_LIMIT_MS = 20_000;

const CONFIG = [
  "[profile dev]\nsso_session = unit\nsso_account_id = 111111111111\nsso_role_name = Admin\n",
  "[profile ops]\nsso_session = unit\nsso_account_id = 222222222222\nsso_role_name = Ops\n",
  "[sso-session unit]\nsso_start_url = https://unit.awsapps.com/start\nsso_region = us-east-1\n",
].join("\n");

/** A container as the fake engine keeps it: the access keys of its last push, and when each came. */
interface Box {
  details: ContainerDetails;
  holds: string[];
  pushes: { at: number; keys: string[] }[];
  /** Its pushes never return (a replaced `sh`, a full tmpfs): each ends at the exec time limit. */
  hung?: { attempts: number[] };
}

/** What the fake GetRoleCredentials does on call n (1-based): by default, answer at once. */
type FetchBehaviour = (n: number, role: string) => Promise<void> | undefined;

let clock: ManualClock;
let home: TestHome;
let boxes: Map<string, Box>;
let fetches: { at: number; role: string; n: number }[];
let behaviour: FetchBehaviour;
let emitEvent: (event: DockerEvent) => void;
let agent: AgentHandle | undefined;

function engine(): DockerEngine {
  const queue: DockerEvent[] = [];
  let wake: () => void = () => undefined;
  emitEvent = (event) => {
    queue.push(event);
    wake();
  };
  return fakeEngine({
    ping: () => Promise.resolve(),
    listContainers: () =>
      Promise.resolve(
        [...boxes.values()].map((b) => ({
          id: b.details.id,
          name: b.details.name,
          labels: b.details.labels,
          state: "running",
        })),
      ),
    inspectContainer: (id) => {
      const box = boxes.get(id);
      return box ? Promise.resolve(box.details) : Promise.reject(new Error(`no container ${id}`));
    },
    exec: (id: string, request: ExecRequest) => {
      const box = boxes.get(id);
      if (!box) return Promise.reject(new Error(`no container ${id}`));
      if (box.hung) {
        box.hung.attempts.push(clock.now());
        return clock.sleep(EXEC_LIMIT_MS, request.signal).then(() => {
          throw new ExecTimeoutError(box.details.name, EXEC_LIMIT_MS);
        });
      }
      const keys = [...new Set(String(request.stdin).match(/ASIA[A-Z]+\d+/g) ?? [])].sort();
      box.holds = keys;
      box.pushes.push({ at: clock.now(), keys });
      return Promise.resolve(OK);
    },
    events: (options) => ({
      [Symbol.asyncIterator]: () => {
        options?.onOpen?.();
        return {
          next: async () => {
            while (queue.length === 0) {
              if (options?.signal?.aborted === true) return { done: true, value: undefined };
              await new Promise<void>((resolve) => {
                wake = resolve;
                options?.signal?.addEventListener(
                  "abort",
                  () => {
                    resolve();
                  },
                  { once: true },
                );
              });
            }
            return { done: false, value: queue.shift() as DockerEvent };
          },
        };
      },
    }),
  });
}

async function addBox(name: string, profiles: string): Promise<Box> {
  const box: Box = {
    details: {
      id: `id-${name}`,
      name,
      image: "img",
      user: "",
      env: {},
      labels: await grantLabels(home.home, profiles),
      running: true,
      paused: false,
      ipcMode: "private",
      tmpfsTargets: ["/run/sso-docker"],
      readOnlyMounts: [],
    },
    holds: [],
    pushes: [],
  };
  boxes.set(box.details.id, box);
  return box;
}

/** A container started while the agent runs: the engine's start event follows. */
async function startBox(name: string, profiles: string): Promise<Box> {
  const box = await addBox(name, profiles);
  emitEvent({ type: "container", action: "start", id: box.details.id, attributes: {}, time: clock.now() });
  return box;
}

function getRoleCredentials(resolved: ResolvedProfile): Promise<RoleCredentials> {
  const role = resolved.identity.roleName.toUpperCase();
  const n = fetches.filter((f) => f.role === role).length + 1;
  fetches.push({ at: clock.now(), role, n });
  const answer = () => ({
    accessKeyId: `ASIA${role}${String(n)}`,
    secretAccessKey: "secret",
    sessionToken: "token",
    expiration: clock.now() + LIFETIME_MS,
  });
  const waiting = behaviour(n, role);
  return waiting ? waiting.then(answer) : Promise.resolve(answer());
}

/** The engine of `engine()` behind a socket that refuses every call while `away()` says so. */
function awayWhile(away: () => boolean): DockerEngine {
  const inner = engine();
  const refuse = () => Promise.reject(new DockerError(`Cannot reach the Docker engine at ${inner.host}.`));
  return {
    ...inner,
    ping: () => (away() ? refuse() : inner.ping()),
    events: (options) =>
      away() ? { [Symbol.asyncIterator]: () => ({ next: refuse }) } : inner.events(options),
  };
}

async function start(
  options: { ready?: boolean; engine?: DockerEngine; log?: string[] } = {},
): Promise<AgentHandle> {
  const { log } = options;
  const deps = home.deps({ clock });
  agent = await startAgent(
    log === undefined
      ? deps
      : { ...deps, logger: createLogger({ debug: false, write: (line) => void log.push(line) }) },
    {
      engine: options.engine ?? engine(),
      reconnect: { baseMs: 1000, maxMs: 4000 },
      getRoleCredentials,
      retry: RETRY,
      // Only the refresh schedule should wake the agent in these tests.
      signedOutPollMs: 24 * 3600_000,
      loginRetryMs: 24 * 3600_000,
    },
  );
  if (options.ready !== false) await agent.ready;
  return agent;
}

/** Waits (bounded, in real time) for the agent's file I/O and continuations after a clock step. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) {
      const held = [...boxes.values()].map((b) => `${b.details.name}=${b.holds.join("+")}`).join(" ");
      throw new Error(
        `timed out waiting for ${what} at +${String(clock.now() - START)} ms (fetches ${JSON.stringify(fetches)}; containers ${held})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const holdAll = (keys: string[]) => () => [...boxes.values()].every((b) => b.holds.join() === keys.join());

/** Moves the clock to `at`, checking first that the agent sleeps until exactly then. */
async function advanceTo(at: number): Promise<void> {
  expect(clock.nextWake).toBe(at);
  await clock.advance(at - clock.now());
}

beforeEach(async () => {
  clock = new ManualClock(START);
  home = await makeTestHome({ config: CONFIG });
  const deps = home.deps({ clock });
  await writeSsoToken(tokenCachePath(deps.paths.ssoCacheDir, { sessionName: "unit", startUrl: "" }), {
    startUrl: "https://unit.awsapps.com/start",
    region: "us-east-1",
    accessToken: "token",
    expiresAt: isoSeconds(START + 8 * 3600_000),
  });
  boxes = new Map();
  fetches = [];
  behaviour = () => undefined;
  agent = undefined;
});

afterEach(async () => {
  await agent?.stop();
  await home[Symbol.asyncDispose]();
});

describe("the agent on a ManualClock", () => {
  it("replaces every container's credentials at half their lifetime, with one GetRoleCredentials per round however many containers", async () => {
    for (let i = 0; i < 30; i++) await addBox(`box-${String(i)}`, "dev");
    const handle = await start();
    const rounds: number[] = [];
    handle.on("refreshed", (e) => rounds.push(e.at));
    expect(fetches).toEqual([{ at: START, role: "ADMIN", n: 1 }]);
    expect(holdAll(["ASIAADMIN1"])()).toBe(true);

    // Containers started between rounds get the current credentials at once, without a call.
    await clock.advance(10_000);
    const late = [await startBox("late-0", "dev"), await startBox("late-1", "dev")];
    await until(() => late.every((b) => b.holds.join() === "ASIAADMIN1"), "the late containers' pushes");
    expect(late.map((b) => b.pushes[0]?.at)).toEqual([START + 10_000, START + 10_000]);

    for (let round = 1; round <= 4; round++) {
      const due = START + round * PERIOD_MS;
      await advanceTo(due);
      await until(holdAll([`ASIAADMIN${String(round + 1)}`]), `round ${String(round)}`);
      await until(() => rounds.length === round, `round ${String(round)}'s refreshed event`);
      expect(fetches.at(-1)).toEqual({ at: due, role: "ADMIN", n: round + 1 });
    }
    expect(fetches).toHaveLength(5);
    for (const box of boxes.values()) {
      // One push per round, each while the credentials it replaced had half their lifetime left.
      const rounds = box.pushes.slice(1);
      expect(rounds.map((p) => p.at)).toEqual([1, 2, 3, 4].map((k) => START + k * PERIOD_MS));
      const previous = box.pushes.slice(0, -1);
      rounds.forEach((push, i) => {
        const issued = previous[i]?.at ?? 0;
        expect(issued + LIFETIME_MS - push.at).toBeGreaterThanOrEqual(LIFETIME_MS / 2 - SLACK_MS);
      });
    }
  });

  it("makes one call per role per round for containers of two roles, and pushes each container its roles only", async () => {
    for (let i = 0; i < 6; i++) await addBox(`dev-${String(i)}`, "dev");
    for (let i = 0; i < 6; i++) await addBox(`ops-${String(i)}`, "ops");
    for (let i = 0; i < 3; i++) await addBox(`both-${String(i)}`, "dev,ops");
    await start();
    for (let round = 1; round <= 3; round++) {
      await advanceTo(START + round * PERIOD_MS);
      const want = (b: Box) =>
        b.details.labels["sso-docker.profiles"]
          ?.split(",")
          .map((p) => `ASIA${p === "dev" ? "ADMIN" : "OPS"}${String(round + 1)}`)
          .sort()
          .join();
      await until(
        () => [...boxes.values()].every((b) => b.holds.join() === want(b)),
        `round ${String(round)}`,
      );
    }
    expect(fetches.filter((f) => f.role === "ADMIN").map((f) => f.at)).toEqual(
      [0, 1, 2, 3].map((k) => START + k * PERIOD_MS),
    );
    expect(fetches.filter((f) => f.role === "OPS").map((f) => f.at)).toEqual(
      [0, 1, 2, 3].map((k) => START + k * PERIOD_MS),
    );
  });

  it("starts no second round while a fetch hangs, however long and however many containers start meanwhile", async () => {
    for (let i = 0; i < 10; i++) await addBox(`box-${String(i)}`, "dev");
    const handle = await start();
    let release: () => void = () => undefined;
    behaviour = (n) => (n === 2 ? new Promise<void>((resolve) => (release = resolve)) : undefined);
    const firstDue = START + PERIOD_MS;
    await advanceTo(firstDue);
    await until(() => fetches.length === 2, "the second fetch to start");
    // Three lifetimes pass with the fetch hanging; containers come and go around it.
    const late: Box[] = [];
    for (let step = 1; step <= 6; step++) {
      await clock.advance(LIFETIME_MS / 2);
      late.push(await startBox(`late-${String(step)}`, "dev"));
      emitEvent({ type: "container", action: "restart", id: "id-box-0", attributes: {}, time: clock.now() });
    }
    expect(fetches).toHaveLength(2);
    const released = clock.now();
    release();
    await until(holdAll(["ASIAADMIN2"]), "every container to get the fetched credentials");
    expect(fetches).toHaveLength(2);
    expect(late.every((b) => b.pushes.length === 1)).toBe(true);
    // The next round comes half a lifetime after the answer arrived: the slow call did not make
    // the credentials look longer-lived (and so due at once).
    const nextDue = released + PERIOD_MS;
    const refreshed: number[] = [];
    handle.on("refreshed", (e) => refreshed.push(e.at));
    await advanceTo(nextDue);
    await until(holdAll(["ASIAADMIN3"]), "the round after the slow one");
    expect(fetches.map((f) => f.at)).toEqual([START, firstDue, nextDue]);
  });

  it("lets ten containers whose pushes never return delay the others by the push patience only (2 s), in every round", async () => {
    const hung: Box[] = [];
    for (let i = 0; i < 10; i++) {
      const box = await addBox(`hung-${String(i)}`, "dev");
      box.hung = { attempts: [] };
      hung.push(box);
    }
    for (let i = 0; i < 12; i++) await addBox(`good-${String(i)}`, "dev");
    const good = [...boxes.values()].filter((b) => !b.hung);
    const handle = await start({ ready: false });
    let ready = false;
    void handle.ready.then(() => (ready = true));
    // Listed first, the hung ones take all eight push slots; after 2 s they stop holding them.
    await until(() => hung.filter((b) => b.hung?.attempts.length === 1).length === 8, "8 hung pushes");
    await advanceTo(START + 2000);
    await until(() => good.every((b) => b.holds.join() === "ASIAADMIN1"), "the good containers' pushes");
    expect(good.map((b) => b.pushes[0]?.at)).toEqual(good.map(() => START + 2000));
    expect(ready).toBe(false); // the start-up sync ends only when the hung pushes hit the time limit
    // The round: the containers whose last push failed go last, so the good ones get theirs at once.
    await clock.advance(START + PERIOD_MS - clock.now());
    await until(() => good.every((b) => b.holds.join() === "ASIAADMIN2"), "the round");
    expect(ready).toBe(true);
    expect(good.map((b) => b.pushes[1]?.at)).toEqual(good.map(() => START + PERIOD_MS));
    // The hung ones are still tried every round (eight at once, in the slots the good ones left).
    const triedInRound = () => hung.filter((b) => b.hung?.attempts.at(-1) === START + PERIOD_MS).length;
    await until(() => triedInRound() === 8, "eight hung containers to be tried in the round");
    expect(fetches).toHaveLength(2);
  });

  it("retries a failed fetch with backoff and still replaces the credentials before they expire", async () => {
    for (let i = 0; i < 5; i++) await addBox(`box-${String(i)}`, "dev");
    const handle = await start();
    const failures: number[] = [];
    handle.on("fetchFailed", (e) => failures.push(e.retryInMs));
    // What the SDK throws for a 500: a passing failure, retried quietly (no status note before 2 min).
    const serverError = () =>
      Object.assign(new Error("try again"), {
        name: "InternalServerException",
        $metadata: { httpStatusCode: 500 },
      });
    behaviour = (n) => (n === 2 || n === 3 ? Promise.reject(serverError()) : undefined);
    const due = START + PERIOD_MS;
    await advanceTo(due);
    await until(() => failures.length === 1, "the first failure");
    await advanceTo(due + RETRY.baseMs);
    await until(() => failures.length === 2, "the second failure");
    await advanceTo(due + RETRY.baseMs + 2 * RETRY.baseMs);
    await until(holdAll(["ASIAADMIN4"]), "the credentials of the third try");
    expect(failures).toEqual([RETRY.baseMs, 2 * RETRY.baseMs]);
    expect(fetches.map((f) => f.at - START)).toEqual([0, PERIOD_MS, PERIOD_MS + 1000, PERIOD_MS + 3000]);
    for (const box of boxes.values()) {
      expect(box.pushes.map((p) => p.keys.join())).toEqual(["ASIAADMIN1", "ASIAADMIN4"]);
      expect(box.pushes[1]?.at).toBeLessThan(START + LIFETIME_MS);
    }
  });

  it("starts with no engine answering, says so once, and syncs the containers once the engine answers", async () => {
    const box = await addBox("box-0", "dev");
    let away = true;
    const log: string[] = [];
    const handle = await start({ ready: false, engine: awayWhile(() => away), log });
    expect(handle.engineAnswered).toBe(false);
    expect(handle.remoteTargets).toBe(0);
    expect((await handle.snapshot()).connected).toBe(false);
    // Tried again with backoff (1, 2, 4, 4 s), quietly after the first time.
    for (const at of [1000, 3000, 7000, 11_000]) {
      await until(() => clock.nextWake === START + at, `the engine try at +${String(at)} ms`);
      await advanceTo(START + at);
    }
    const said = log.filter((line) => line.includes("no Docker engine answers"));
    expect(said).toEqual([
      `warning: agent started (pid ${String(process.pid)}), but no Docker engine answers at unix:///fake.sock (Cannot reach the Docker engine at unix:///fake.sock.); no remote target is attached (\`sso-docker attach codespace:NAME --profile …\`), so nothing is supplied until it answers. Trying the engine again with backoff (next in 1 s, then up to every 4 s).`,
    ]);
    expect(box.pushes).toEqual([]);
    expect(fetches).toEqual([]);

    away = false;
    await until(() => clock.nextWake === START + 15_000, "the next engine try");
    await advanceTo(START + 15_000);
    await handle.ready;
    expect(box.holds).toEqual(["ASIAADMIN1"]);
    expect(box.pushes.map((p) => p.at)).toEqual([START + 15_000]);
    expect(log.some((line) => line.includes("the Docker engine at unix:///fake.sock answers now"))).toBe(
      true,
    );
    expect((await handle.snapshot()).connected).toBe(true);
  });
});
