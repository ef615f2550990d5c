import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHM_SECRET_DIR } from "../src/delivery/paths.js";
import { createDockerEngine } from "../src/docker/engine.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import { assertBuilt, CLI, signIn } from "./cli-support.js";
import type { TestContainer } from "./support/docker.js";
import { startContainer, sweepTestContainersAfterAll } from "./support/docker.js";
import { grantLabels } from "./support/grant.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome, ssoProfileConfig } from "./support/host.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import type { ChildProcessLike } from "./support/remote-engine.js";
import { stopProcess } from "./support/remote-engine.js";

// Issue 9 (invariant 9): code in one container has no way to stop the agent that serves the
// others. A container ends itself (PID 1 exits, `--rm` removes it) while the agent pushes to it:
// the agent has taken it on and waits for the credentials, the container ends and is forgotten,
// and the push then goes on to an exec into a container that is gone (404 No such container).
// That failure once escaped as an unhandled rejection and ended the agent process, and with it
// every other container's refreshes. The rotation's GetRoleCredentials is held at the fake (a
// slow answer, as the real service can give) until such containers have ended, so each round
// meets that moment; others end as soon as their credentials land, in the middle of the push's
// execs. The agent is the real `sso-docker agent` process; "exit-" names keep other files'
// agents out.
sweepTestContainersAfterAll();

const SESSION = "exit-sso";
const PROFILE = "exit-app";
/** 16-s credentials: a refresh round every 8 s. */
const LIFETIME_S = 16;
const ROUNDS = 2;
/** Per round, containers that end while the agent waits for their credentials ... */
const IN_FETCH = 3;
/** ... and containers that end as soon as their credentials land. */
const ON_DELIVERY = 2;
const CREDENTIALS_PATH = "/federation/credentials";

/** PID 1 ends when it reads a line from its pipe (the moment it picks; here the test's). */
const END_ON_WORD = ["sh", "-c", "mkfifo /tmp/end && read -r _ < /tmp/end"];
/** PID 1 ends as soon as the agent's push has written its credentials. */
const END_ON_DELIVERY = ["sh", "-c", `until [ -e ${SHM_SECRET_DIR}/${PROFILE}.json ]; do sleep 0.01; done`];

/** The engine for the test's own execs. */
const direct = createDockerEngine({ env: {}, home: "/nonexistent" });
let idc: FakeIdc;
let home: TestHome;
let busybox: string;
let labels: Record<string, string>;
let agent: ChildProcessLike | undefined;
/** The agent's stderr: its log, debug lines included. */
let log = "";
let exited: string | undefined;
const wakeups = new Set<() => void>();

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const tail = () => log.split("\n").slice(-25).join("\n");
const wake = () => {
  for (const check of [...wakeups]) check();
};

/**
 * Resolves once `done()` holds, checked whenever the agent writes or a test step wakes it;
 * rejects when the agent exits first, or after `timeoutMs`, with the agent log's tail.
 */
function until(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (done()) finish();
      else if (exited !== undefined) finish(new Error(`${what}: ${exited}`));
    };
    const timer = setTimeout(() => {
      finish(new Error(`${what}: not within ${String(timeoutMs)} ms; agent log tail:\n${tail()}`));
    }, timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      wakeups.delete(check);
      if (error) reject(error);
      else resolve();
    };
    wakeups.add(check);
    check();
  });
}

/** The agent's log from offset `from` (past or future) matches `pattern`. */
const logged = (pattern: RegExp, from: number, what: string, timeoutMs?: number) =>
  until(() => pattern.test(log.slice(from)), `${what} (${String(pattern)})`, timeoutMs);

async function accessKeyOf(c: TestContainer): Promise<string> {
  const out = await direct.exec(c.id, { cmd: ["cat", `${SHM_SECRET_DIR}/${PROFILE}.json`], user: "dev" });
  expect(out.exitCode, out.stderr).toBe(0);
  return (JSON.parse(out.stdout) as { AccessKeyId: string }).AccessKeyId;
}

beforeAll(async () => {
  assertBuilt();
  busybox = (await ensureTestImages()).busybox;
  idc = await startFakeIdc({ lifetimes: { roleCredentialSeconds: LIFETIME_S } });
  home = await makeTestHome({
    config: ssoProfileConfig({ profile: PROFILE, session: SESSION, startUrl: idc.startUrl }),
    endpointEnv: idc.endpointEnv(),
  });
  await signIn(home.deps().paths, idc, SESSION);
  labels = await grantLabels(home.home, PROFILE, home.env);
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (process.env["AGENT_TEST_LOG"]) console.info(log);
  if (agent) await stopProcess(agent);
  await idc.close();
  await home[Symbol.asyncDispose]();
});

describe("a container that ends while the agent pushes to it", () => {
  it(`cannot stop the agent: ${String(ROUNDS)} rounds of containers ending mid-push, and a good container is refreshed in each`, async () => {
    const good = await startContainer(busybox, { user: "dev", labels });
    const child = execa(process.execPath, [CLI, "--debug", "agent", "--no-browser"], {
      env: home.env,
      extendEnv: false,
      stdin: "ignore",
      stdout: "ignore",
      buffer: false,
      reject: false,
    });
    agent = child;
    child.stderr.on("data", (chunk: Buffer) => {
      log += chunk.toString("utf8");
      wake();
    });
    child.once("exit", () => {
      exited = `the agent exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)}); its log ends:\n${tail()}`;
      wake();
    });
    await logged(
      new RegExp(`pushed ${PROFILE} to ${good.name} \\(uid 1000\\)`),
      0,
      "the good container's first push",
    );
    let key = await accessKeyOf(good);

    for (let round = 1; round <= ROUNDS; round++) {
      const label = `round ${String(round)}`;
      const hold = idc.holdNext(CREDENTIALS_PATH);
      let held = false;
      void hold.arrived.then(() => {
        held = true;
        wake();
      });
      // The round's fetch is under way and held: the credentials in hand are due for replacement,
      // so every push from now on waits for this one answer.
      await until(() => held, `${label}: the refresh round's GetRoleCredentials`, LIFETIME_S * 1000);
      const heldAt = performance.now();
      const mark = log.length;
      const hostile = await Promise.all([
        ...Array.from({ length: IN_FETCH }, () =>
          startContainer(busybox, { user: "dev", labels, args: ["--rm"], command: END_ON_WORD }),
        ),
        ...Array.from({ length: ON_DELIVERY }, () =>
          startContainer(busybox, { user: "dev", labels, args: ["--rm"], command: END_ON_DELIVERY }),
        ),
      ]);
      const inFetch = hostile.slice(0, IN_FETCH);
      // Each is taken on (inspected, running) and its push waits for the held answer; then it ends.
      await Promise.all(
        inFetch.map(async (c) => {
          await logged(new RegExp(`inspected ${c.name} in `), mark, `${label}: ${c.name} taken on`);
          // Its PID 1 reads the word and exits, which may take this exec down with it (137, 404).
          await direct
            .exec(c.id, { cmd: ["sh", "-c", "echo > /tmp/end"], user: "dev" })
            .catch(() => undefined);
          await logged(
            new RegExp(`container ${c.name} stopped; no longer synced`),
            mark,
            `${label}: ${c.name} ended`,
          );
        }),
      );
      hold.release();
      const releasedAt = performance.now();

      // The round goes on: the good container gets the new credentials, the pushes to the ended
      // containers end there (their execs are refused), and the others end as theirs land.
      await logged(
        new RegExp(`pushed ${PROFILE} to ${good.name} \\(uid 1000\\); expires \\S+ \\[refresh\\]`),
        mark,
        `${label}: the good container's refresh`,
      );
      const refreshedAt = performance.now();
      const next = await accessKeyOf(good);
      expect(next, `${label}: the good container's key was replaced`).not.toBe(key);
      key = next;
      for (const c of hostile.slice(IN_FETCH)) {
        await logged(
          new RegExp(`container ${c.name} stopped; no longer synced`),
          mark,
          `${label}: ${c.name} ended on delivery`,
        );
      }
      expect(exited).toBeUndefined();
      console.info(
        `exit: ${label}: fetch held ${seconds(releasedAt - heldAt)} while ${String(IN_FETCH)} containers started and ended; the good one refreshed ${seconds(refreshedAt - releasedAt)} after its answer`,
      );
    }

    // Still the agent for every container: a new one is supplied at once.
    const mark = log.length;
    const late = await startContainer(busybox, { user: "dev", labels });
    await logged(
      new RegExp(`pushed ${PROFILE} to ${late.name} \\(uid 1000\\)`),
      mark,
      "a container started afterwards",
    );
    expect(await accessKeyOf(late)).toMatch(/^ASIA/);
    expect(exited).toBeUndefined();
  }, 150_000);
});
