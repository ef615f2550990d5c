import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeEngine } from "../../test/support/fake-engine.js";
import { makeTestHome, type TestHome } from "../../test/support/host.js";
import type { BackgroundAgent } from "../agent/detach.js";
import { isoSeconds } from "../runtime/time-format.js";
import type { SessionRef } from "../auth/session-ref.js";
import { tokenCachePath, writeSsoToken } from "../aws-files/token-cache.js";
import type { ContainerSpec, DockerEngine } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import { ProfileError } from "../runtime/errors.js";
import { parseRunArgs } from "./run-args.js";
import { prepareRun, type RunSurroundings } from "./run-container.js";

// prepareRun against a fake engine: what a run asks of the engine, the sign-in and the agent,
// and in what order. The real-engine runs are test/run-*.test.ts.

const START_URL = "https://unit.awsapps.com/start";
const CONFIG = [
  "[profile dev]\nsso_session = unit\nsso_account_id = 111111111111\nsso_role_name = Admin\n",
  "[profile ops]\nsso_session = unit\nsso_account_id = 222222222222\nsso_role_name = Ops\n",
  "[profile kept]\nsso_session = unit\nsso_account_id = 333333333333\nsso_role_name = Ops\nsso_docker_containers = false\n",
  `[sso-session unit]\nsso_start_url = ${START_URL}\nsso_region = us-east-1\n`,
].join("\n");

let home: TestHome;
let deps: Deps;
let calls: string[];

beforeEach(async () => {
  home = await makeTestHome({ config: CONFIG });
  deps = home.deps();
  calls = [];
});

afterEach(async () => {
  await home[Symbol.asyncDispose]();
});

async function signIn(): Promise<void> {
  const now = Date.now();
  await writeSsoToken(tokenCachePath(deps.paths.ssoCacheDir, { sessionName: "unit", startUrl: START_URL }), {
    startUrl: START_URL,
    region: "us-east-1",
    accessToken: "unit-access-token",
    expiresAt: isoSeconds(now + 3_600_000),
  });
}

/** An engine with the image and whatever volume it was asked to create; every call recorded. */
function engine(): DockerEngine {
  const volumes = new Map<string, Record<string, string>>();
  let probes = 0;
  return fakeEngine({
    inspectImage: (image) => {
      calls.push(`inspectImage ${image}`);
      return Promise.resolve({ id: "sha256:unit", entrypoint: [], cmd: [], user: "" });
    },
    inspectVolume: (name) => {
      calls.push("inspectVolume");
      const labels = volumes.get(name);
      return Promise.resolve(
        labels === undefined ? undefined : { name, driver: "local", labels, options: {}, createdAt: "t0" },
      );
    },
    createVolume: (name, labels) => {
      calls.push("createVolume");
      volumes.set(name, labels);
      return Promise.resolve();
    },
    createContainer: (spec: ContainerSpec) => {
      calls.push(`createContainer ${spec.image}`);
      return Promise.resolve(`probe-${++probes}`);
    },
    pathExists: (_id, path) => {
      calls.push(`pathExists ${path}`);
      return Promise.resolve(path === "/bin/sh");
    },
    putArchive: () => {
      calls.push("putArchive");
      return Promise.resolve();
    },
    removeContainer: () => {
      calls.push("removeContainer");
      return Promise.resolve();
    },
  });
}

function surroundings(
  given: DockerEngine,
  agent: BackgroundAgent = { started: false, pid: 4242 },
): RunSurroundings & { notices: string[]; signIns: SessionRef[] } {
  const notices: string[] = [];
  const signIns: SessionRef[] = [];
  return {
    engine: given,
    notices,
    signIns,
    notice: (text) => notices.push(text),
    signIn: async (session) => {
      calls.push(`signIn ${session.profileName}`);
      signIns.push(session);
      await signIn();
    },
    ensureAgent: (host) => {
      calls.push(`ensureAgent ${host}`);
      return Promise.resolve(agent);
    },
  };
}

describe("prepareRun", () => {
  it("checks profiles, sign-in, image, shell and volume, then the agent, and returns docker run with the user's options last", async () => {
    await signIn();
    const around = surroundings(engine());
    const args = parseRunArgs(["--profile", "dev", "--rm", "-e", "A=1", "img:1", "sh", "-c", "true"]);
    const prepared = await prepareRun(deps, args, around);
    expect(calls).toEqual([
      "inspectImage img:1",
      "inspectVolume",
      "createVolume",
      "inspectVolume",
      "createContainer sha256:unit",
      "pathExists /bin/sh",
      "pathExists /sso-docker-volume/config",
      "putArchive",
      "removeContainer",
      "ensureAgent unix:///fake.sock",
    ]);
    expect(prepared.signedIn).toBe(false);
    expect(prepared.argv.slice(0, 1)).toEqual(["run"]);
    expect(prepared.argv.slice(-7)).toEqual(["--rm", "-e", "A=1", "img:1", "sh", "-c", "true"]);
    expect(prepared.argv).toContain("sso-docker.profiles=dev");
    expect(prepared.argv.some((a) => a.startsWith("sso-docker.run="))).toBe(false);
    expect(around.notices).toEqual([]);
  });

  it("a second run of what a probe checked (same image ID, same volume) makes no probe container", async () => {
    await signIn();
    const shared = engine();
    const args = parseRunArgs(["--profile", "dev", "img:1", "true"]);
    await prepareRun(deps, args, surroundings(shared));
    calls = [];
    await prepareRun(deps, args, surroundings(shared));
    expect(calls).toEqual(["inspectImage img:1", "inspectVolume", "ensureAgent unix:///fake.sock"]);
  });

  it("a profile kept out of containers is refused before a volume, a container, a sign-in or the agent", async () => {
    await signIn();
    const args = parseRunArgs(["--profile", "dev", "--profile", "kept", "img:1", "true"]);
    await expect(prepareRun(deps, args, surroundings(engine()))).rejects.toThrow(ProfileError);
    // Only the read-only image inspection, asked early.
    expect(calls).toEqual(["inspectImage img:1"]);
  });

  it("no login: one sign-in for the session of both profiles, said first, before a volume or container", async () => {
    const around = surroundings(engine());
    const args = parseRunArgs(["--profile", "dev", "--profile", "ops", "img:1", "true"]);
    const prepared = await prepareRun(deps, args, around);
    expect(prepared.signedIn).toBe(true);
    expect(calls.slice(0, 3)).toEqual(["inspectImage img:1", "signIn dev", "inspectVolume"]);
    expect(around.signIns.map((s) => s.sessionName)).toEqual(["unit"]);
    expect(around.notices).toEqual([
      "sso-docker: profile dev needs a sign-in (sso-session unit) before the container starts.",
    ]);
  });

  it("an agent it had to start is announced once, with how to see and end it", async () => {
    await signIn();
    const around = surroundings(engine(), { started: true, pid: 777 });
    await prepareRun(deps, parseRunArgs(["--profile", "dev", "img:1", "true"]), around);
    expect(around.notices).toEqual([
      "sso-docker: started the agent for unix:///fake.sock (pid 777), which puts credentials in this engine's containers and keeps them fresh; `sso-docker status` shows it, `sso-docker agent stop` ends it.",
    ]);
  });
});
