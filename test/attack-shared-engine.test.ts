import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentEventName, AgentEvents } from "../src/agent/agent-events.js";
import { agentFiles } from "../src/agent/agent-files.js";
import { acquireAgentLock } from "../src/agent/agent-lock.js";
import type { AgentHandle } from "../src/agent/agent.js";
import { startAgent } from "../src/agent/agent.js";
import { grantFor } from "../src/agent/grant.js";
import { loadGrantKey } from "../src/agent/grant-key.js";
import { createDockerEngine } from "../src/docker/engine.js";
import { createDeps } from "../src/runtime/deps.js";
import { createLogger } from "../src/runtime/logger.js";
import { runCli } from "./cli-support.js";
import { startRunFixture, type RunFixture } from "./run-support.js";
import type { TestContainer } from "./support/docker.js";
import {
  IDLE_COMMAND,
  startContainer,
  sweepTestContainers,
  TEST_LABEL,
  testRunId,
} from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { filesAfterSignOut, secretFiles } from "./support/secret-dir.js";

// Issue 9, finding 6: other users of a shared engine. Two host users (two HOMEs, each signed in
// to its own fake IAM Identity Center, each with its own agent) follow one real engine, and an
// engine user creates containers that ask for their profiles. A container gets credentials only
// from the agent of the user it is bound to: by that user's grant for exactly its profile list
// (`sso-docker run` adds one, `sso-docker grant` prints one), or by that user's devcontainer.json
// naming the profiles for the sso-docker Feature. `logout` empties what is bound to its user,
// whatever a container writes into its own tmpfs; a profile the user keeps out of containers
// (sso_docker_containers = false) reaches none.

/** The uid B's agent plays, so that a devcontainer.json of this (root) process is not B's. */
const B_UID = 10_001;
const VERDICTS: readonly AgentEventName[] = ["pushed", "pushFailed", "refused", "ignored"];
const KEPT_OUT = "kept-out";
/** A profile only A has: B's agent could not push it even before containers were bound. */
const A_ONLY = "a-only";

interface User {
  fx: RunFixture;
  agent: AgentHandle;
  logs: string[];
  history: { name: AgentEventName; event: { containerId?: string } }[];
  wakeups: Set<() => void>;
  key: Buffer;
}

let a: User;
let b: User;
let featureImage = "";
let scratch = "";
const cleanups: (() => PromiseLike<unknown>)[] = [];

async function startUser(fx: RunFixture, uid?: number): Promise<User> {
  const logs: string[] = [];
  const deps = createDeps({
    env: fx.env,
    platform: "linux",
    logger: createLogger({ debug: true, write: (line) => logs.push(line) }),
  });
  const engine = createDockerEngine({ env: {}, home: fx.home.home });
  const agent = await startAgent(deps, {
    engine,
    openBrowser: false,
    ...(uid === undefined ? {} : { uid }),
  });
  cleanups.push(() => agent.stop());
  // This agent is the HOME's, as `sso-docker agent` would be, so `sso-docker run` uses it rather
  // than starting one. Released before the fixture's dispose, whose `agent stop` would otherwise
  // signal this test process.
  const lock = await acquireAgentLock(agentFiles(fx.env, fx.home.home, engine.host), engine.host);
  if (lock.kind !== "acquired")
    throw new Error(`an agent already runs for ${fx.home.home} (pid ${lock.pid})`);
  cleanups.push(() => lock.lock.release());
  const user: User = {
    fx,
    agent,
    logs,
    history: [],
    wakeups: new Set(),
    key: await loadGrantKey(fx.env, fx.home.home),
  };
  for (const name of [...VERDICTS, "noted" as const]) {
    agent.on(name, (event) => {
      user.history.push({ name, event: event as { containerId?: string } });
      for (const wake of [...user.wakeups]) wake();
    });
  }
  await agent.ready;
  return user;
}

/**
 * What the user's agent decided first about the container: pushed, refused, failed or ignored
 * (or, with `names`, the first of those events).
 */
function verdictOf(user: User, containerId: string, from = 0, timeoutMs = 20_000, names = VERDICTS) {
  return new Promise<{ name: AgentEventName; event: unknown }>((resolve, reject) => {
    const check = () => {
      const hit = user.history
        .slice(from)
        .find((h) => names.includes(h.name) && h.event.containerId === containerId);
      if (hit === undefined) return;
      done();
      resolve(hit);
    };
    const timer = setTimeout(() => {
      done();
      reject(
        new Error(
          `no agent verdict on ${containerId.slice(0, 12)} within ${timeoutMs} ms:\n${user.logs.slice(-10).join("\n")}`,
        ),
      );
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      user.wakeups.delete(check);
    };
    user.wakeups.add(check);
    check();
  });
}

function pushesTo(user: User, containerId: string): string[] {
  return user.history
    .filter((h) => h.name === "pushed" && h.event.containerId === containerId)
    .map((h) => `pushed ${(h.event as AgentEvents["pushed"]).profiles.join(",")}`);
}

async function accessKeyIn(id: string, file: string): Promise<string | undefined> {
  const cat = await execa("docker", ["exec", "-u", "0", id, "cat", file], { reject: false });
  return cat.exitCode === 0 ? (JSON.parse(cat.stdout) as { AccessKeyId: string }).AccessKeyId : undefined;
}

const issuedBy = (user: User) => user.fx.idc.issuedCredentials().map((c) => c.accessKeyId);

beforeAll(async () => {
  const [fxA, fxB] = await Promise.all([startRunFixture(), startRunFixture()]);
  cleanups.push(
    () => fxA[Symbol.asyncDispose](),
    () => fxB[Symbol.asyncDispose](),
  );
  await appendFile(
    fxA.home.configFile,
    `\n[profile ${A_ONLY}]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = PowerUserAccess\n` +
      `\n[profile ${KEPT_OUT}]\nsso_session = corp\nsso_account_id = 333333333333\nsso_role_name = ReadOnlyAccess\nsso_docker_containers = false\n`,
  );
  // An image as the sso-docker Feature leaves it: its marker env and its profile files.
  scratch = await mkdtemp(join(tmpdir(), "sso-docker-attack-"));
  cleanups.push(() => rm(scratch, { recursive: true, force: true }));
  // A's own profile: agents of other test files (the same uid) cannot push it into this image.
  await writeFile(join(scratch, "profiles"), `${A_ONLY}\n`);
  await writeFile(join(scratch, "user"), "\n");
  await writeFile(
    join(scratch, "Dockerfile"),
    `FROM ${fxA.images.busybox}\nCOPY profiles user /etc/sso-docker/\nENV SSO_DOCKER_FEATURE=1\n`,
  );
  featureImage = `sso-docker-test/feature-files:${testRunId}`;
  await execa("docker", ["build", "-q", "-t", featureImage, scratch], {
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
  });
  cleanups.push(() => execa("docker", ["rmi", "-f", featureImage], { reject: false }));
  [a, b] = await Promise.all([startUser(fxA), startUser(fxB, B_UID)]);
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await sweepTestContainers();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("two users' agents on one engine", () => {
  it("neither agent supplies a container that only names a profile (no grant), and each says so once", async () => {
    const c = await startContainer(a.fx.images.busybox, {
      user: "dev",
      labels: { "sso-docker.profiles": "dev" },
    });
    const [va, vb] = await Promise.all([verdictOf(a, c.id), verdictOf(b, c.id)]);
    expect({ a: pushesTo(a, c.id), b: pushesTo(b, c.id) }).toEqual({ a: [], b: [] });
    expect(await secretFiles(c.id, "/dev/shm/sso-docker")).toBe("(none)");
    expect([va.name, vb.name]).toEqual(["refused", "refused"]);
    const said = (user: User) =>
      user.logs.filter((l) => l.startsWith(`container ${c.name} asks for «dev» but carries no grant`));
    expect(said(a)[0]).toContain("sso-docker grant --profile dev");

    // A restart syncs it again: refused again, but not logged again.
    const mark = a.history.length;
    await execa("docker", ["restart", "-t", "1", c.id]);
    await verdictOf(a, c.id, mark);
    expect(said(a)).toHaveLength(1);
    expect(pushesTo(a, c.id)).toEqual([]);
  });

  it("A's `sso-docker run` container and A's `docker run $(sso-docker grant)` container get A's credentials, never B's", async () => {
    const expectOnlyA = async (id: string, file: string) => {
      const [va, vb] = await Promise.all([verdictOf(a, id), verdictOf(b, id)]);
      expect(pushesTo(b, id)).toEqual([]);
      expect(va.name).toBe("pushed");
      expect(vb).toMatchObject({ name: "refused", event: { reason: "another user's" } });
      const key = await accessKeyIn(id, file);
      expect(issuedBy(a)).toContain(key);
      expect(issuedBy(b)).not.toContain(key);
    };
    const run = await a.fx.run(["--profile", "dev", "-d", a.fx.images.busybox, ...IDLE_COMMAND]);
    expect(run.exitCode, run.stderr).toBe(0);
    await expectOnlyA(run.stdout, "/run/sso-docker/secrets/dev.json");

    const grant = await runCli(["grant", "--profile", "dev"], a.fx.env);
    expect(grant.exitCode, grant.stderr).toBe(0);
    expect(grant.stdout).toMatch(
      /^--label sso-docker\.profiles=dev --label sso-docker\.grant=[0-9a-f]{16}\.[\w-]{43}$/,
    );
    const plain = await startContainer(a.fx.images.busybox, { user: "dev", args: grant.stdout.split(" ") });
    await expectOnlyA(plain.id, "/dev/shm/sso-docker/dev.json");
  });

  it("a grant of A edited onto more profiles, or copied onto other ones, gets nothing", async () => {
    const widened = await startContainer(a.fx.images.busybox, {
      user: "dev",
      labels: { "sso-docker.profiles": "dev,ops", "sso-docker.grant": grantFor(a.key, ["dev"]) },
    });
    const copied = await startContainer(a.fx.images.busybox, {
      user: "dev",
      labels: { "sso-docker.profiles": "ops", "sso-docker.grant": grantFor(a.key, ["dev"]) },
    });
    for (const c of [widened, copied]) {
      const [va, vb] = await Promise.all([verdictOf(a, c.id), verdictOf(b, c.id)]);
      expect({ a: pushesTo(a, c.id), b: pushesTo(b, c.id) }).toEqual({ a: [], b: [] });
      expect(va).toMatchObject({ name: "refused", event: { reason: "grant does not match its profiles" } });
      expect(vb).toMatchObject({ name: "refused", event: { reason: "another user's" } });
      expect(await secretFiles(c.id, "/dev/shm/sso-docker")).toBe("(none)");
    }
    expect(a.logs).toContainEqual(
      expect.stringMatching(
        new RegExp(`^warning: container ${widened.name} asks for «dev,ops», but its sso-docker.grant`),
      ),
    );
    const state = await a.agent.snapshot();
    expect(state.refused?.find((r) => r.id === widened.id)).toMatchObject({
      profiles: ["dev", "ops"],
      reason: "grant does not match its profiles",
    });
  });

  it("a Dev Container is A's only through A's own devcontainer.json giving the sso-docker Feature its profiles", async () => {
    const config = async (name: string, text: string) => {
      const path = join(scratch, name);
      await writeFile(path, text);
      return path;
    };
    const cases = {
      mine: await config(
        "mine.json",
        `{\n  // JSONC, as the Dev Containers CLI reads it\n  "features": { "ghcr.io/acme/tools/sso-docker:0": { "profiles": "${A_ONLY}" } },\n}`,
      ),
      otherProfiles: await config("other.json", '{ "features": { "./sso-docker": { "profiles": "ops" } } }'),
      noFeature: await config(
        "plain.json",
        '{ "features": { "ghcr.io/devcontainers/features/aws-cli:1": {} } }',
      ),
      missing: join(scratch, "missing", "devcontainer.json"),
    };
    const started: Record<string, TestContainer> = {};
    for (const [name, path] of Object.entries(cases)) {
      started[name] = await startContainer(featureImage, {
        user: "dev",
        labels: { "devcontainer.config_file": path },
      });
    }
    for (const name of ["otherProfiles", "noFeature", "missing"]) {
      const c = started[name]!;
      const [ra, rb] = await Promise.all([verdictOf(a, c.id), verdictOf(b, c.id)]);
      expect({ name, a: pushesTo(a, c.id), b: pushesTo(b, c.id) }).toEqual({ name, a: [], b: [] });
      expect(ra).toMatchObject({ name: "refused", event: { reason: "devcontainer.json does not grant it" } });
      expect(rb.name).toBe("refused");
    }
    const mine = started["mine"]!;
    const [va, vb] = await Promise.all([verdictOf(a, mine.id), verdictOf(b, mine.id)]);
    expect(va.name).toBe("pushed");
    // B's agent is another host user: the file is not B's.
    expect(vb).toMatchObject({ name: "refused", event: { reason: "devcontainer.json does not grant it" } });
    expect(issuedBy(a)).toContain(await accessKeyIn(mine.id, `/dev/shm/sso-docker/${A_ONLY}.json`));
  });

  it("a profile kept out with sso_docker_containers = false reaches no container: run, grant and the agent refuse", async () => {
    const run = await a.fx.run(["--profile", KEPT_OUT, "--rm", a.fx.images.busybox, "true"]);
    const refusal = `Profile "${KEPT_OUT}" is kept out of containers: ${a.fx.home.configFile} sets sso_docker_containers = false for it.`;
    expect({ exitCode: run.exitCode, stderr: run.stderr.split("\n")[0] }).toEqual({
      exitCode: 1,
      stderr: `sso-docker: ${refusal}`,
    });
    const created = await execa("docker", [
      "ps",
      "-aq",
      "--filter",
      `label=${TEST_LABEL}=${testRunId}`,
      "--filter",
      `label=sso-docker.profiles=${KEPT_OUT}`,
    ]);
    expect(created.stdout).toBe("");

    const grant = await runCli(["grant", "--profile", KEPT_OUT], a.fx.env);
    expect({ exitCode: grant.exitCode, stdout: grant.stdout, stderr: grant.stderr.split("\n")[0] }).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `sso-docker: ${refusal}`,
    });

    // Granted by A, and still no credentials: not even the profile it may have. Only A's status
    // notes saying why (issue 10), one per profile, which the agent writes after its verdict.
    const profiles = `dev,${KEPT_OUT}`;
    const c = await startContainer(a.fx.images.busybox, {
      user: "dev",
      labels: { "sso-docker.profiles": profiles, "sso-docker.grant": grantFor(a.key, profiles.split(",")) },
    });
    const va = await verdictOf(a, c.id);
    expect(va).toMatchObject({ name: "pushFailed", event: { error: refusal } });
    const noted = (await verdictOf(a, c.id, 0, 20_000, ["noted"])).event as AgentEvents["noted"];
    expect(pushesTo(a, c.id)).toEqual([]);
    expect(await secretFiles(c.id, "/dev/shm/sso-docker")).toBe(`dev.note\n${KEPT_OUT}.note`);
    const note = noted.notes.find((n) => n.profile === "dev")?.text ?? "";
    expect(note).toContain(`profile dev: ${refusal.replace(/\.$/, "")} — since `);
    expect(a.logs).toContain(`warning: container ${c.name} (${profiles}): ${refusal}`);
    const state = await a.agent.snapshot();
    expect(state.containers.find((s) => s.id === c.id)?.lastError).toBe(note);
  });

  it("B's logout leaves A's containers alone; A's logout empties them, whatever a container wrote into its tmpfs", async () => {
    const run = await a.fx.run(["--profile", A_ONLY, "-d", a.fx.images.busybox, ...IDLE_COMMAND]);
    expect(run.exitCode, run.stderr).toBe(0);
    const id = run.stdout;
    // The run has returned; A's agent pushes at the container's start.
    expect((await verdictOf(a, id)).name).toBe("pushed");
    const name = (await execa("docker", ["inspect", "-f", "{{.Name}}", id])).stdout.replace(/^\//, "");
    const secrets = "/run/sso-docker/secrets";
    expect(await secretFiles(id, secrets)).toContain(`${A_ONLY}.json`);

    const byB = await runCli(["logout"], b.fx.env);
    expect(byB.exitCode, byB.stderr).toBe(0);
    expect(await secretFiles(id, secrets)).toContain(`${A_ONLY}.json`);

    // Root in A's container marks the secret dir as someone else's (what the .owner mark was).
    const forge = await execa("docker", [
      "exec",
      "-u",
      "0",
      id,
      "sh",
      "-c",
      `echo someone-else > ${secrets}/.owner`,
    ]);
    expect(forge.exitCode).toBe(0);
    const byA = await runCli(["logout"], a.fx.env);
    expect(byA.exitCode, byA.stderr).toBe(0);
    expect(await filesAfterSignOut(id, secrets)).toEqual([]);
    expect(byA.stderr).toMatch(
      new RegExp(`^Removed synced credentials from \\d+ container\\(s\\): .*\\b${name}\\b`, "m"),
    );
    expect(byB.stderr).toMatch(
      new RegExp(`^Left \\d+ container\\(s\\) alone that are not bound to you .*\\b${name}\\b`, "m"),
    );
  });
});
