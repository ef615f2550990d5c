import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentHandle } from "../src/agent/agent.js";
import { startAgent } from "../src/agent/agent.js";
import { isoSeconds } from "../src/runtime/time-format.js";
import { tokenCachePath, writeSsoToken } from "../src/aws-files/token-cache.js";
import { SHM_SECRET_DIR } from "../src/delivery/paths.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import { createDeps } from "../src/runtime/deps.js";
import { createLogger } from "../src/runtime/logger.js";
import { FEATURE_SOURCE } from "./devcontainer-support.js";
import { createAgentEventLog } from "./support/agent-events.js";
import type { TestContainer } from "./support/docker.js";
import { startContainer, sweepTestContainers, testRunId } from "./support/docker.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome } from "./support/host.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";

// Issue 9, finding 1: code in a Dev Container Feature container — root included — must not widen
// its grant or gain root through the agent. The Feature's options are files in the image; these
// tests attack them from inside real containers, with a real agent and the fake IdC. Profile names
// carry an "i9f-" prefix so that agents of other test files never supply these containers.

const SESSION = "attack-feature-sso";
const GRANTED = "i9f-a";
const OTHER = "i9f-b";
const ROLES: Record<string, [string, string]> = {
  [GRANTED]: ["111111111111", "AdministratorAccess"],
  [OTHER]: ["222222222222", "PowerUserAccess"],
};
const tag = (what: string) => `sso-docker-test/attack-feature-${what}:${testRunId}`;
/** Built with the real install.sh for profile GRANTED, owner dev; dev can write /opt/dev-bin, first on PATH. */
const FEATURE_IMAGE = tag("granted");
/** SSO_DOCKER_FEATURE=1 in its env, but /etc/sso-docker/profiles is a link to a file dev owns. */
const LINKED_IMAGE = tag("linked");

function featureDockerfile(busybox: string): string {
  return [
    `FROM ${busybox}`,
    "COPY sso-docker /tmp/feature",
    `RUN cd /tmp/feature && PROFILES=${GRANTED} USER= _REMOTE_USER=dev _REMOTE_USER_HOME=/home/dev sh install.sh && rm -rf /tmp/feature`,
    "RUN mkdir -p /opt/dev-bin && chown dev:dev /opt/dev-bin",
    "ENV AWS_CONFIG_FILE=/etc/sso-docker/config SSO_DOCKER_FEATURE=1 PATH=/opt/dev-bin:/bin:/usr/bin",
    "",
  ].join("\n");
}

function linkedDockerfile(busybox: string): string {
  return [
    `FROM ${busybox}`,
    `RUN mkdir -p /etc/sso-docker && echo ${GRANTED} > /home/dev/profiles && chown dev /home/dev/profiles && ln -s /home/dev/profiles /etc/sso-docker/profiles && echo dev > /etc/sso-docker/user`,
    "ENV SSO_DOCKER_FEATURE=1",
    "",
  ].join("\n");
}

async function buildImage(name: string, dockerfile: string, withFeature: boolean): Promise<void> {
  const context = await mkdtemp(join(tmpdir(), "sso-docker-attack-feature-"));
  try {
    await writeFile(join(context, "Dockerfile"), dockerfile);
    if (withFeature) await cp(FEATURE_SOURCE, join(context, "sso-docker"), { recursive: true });
    await execa("docker", ["build", "-q", "-t", name, context], { env: { DOCKER_BUILDKIT: "0" } });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

function agentConfig(startUrl: string): string {
  const sections = Object.entries(ROLES).map(
    ([name, [account, role]]) =>
      `[profile ${name}]\nsso_session = ${SESSION}\nsso_account_id = ${account}\nsso_role_name = ${role}\n`,
  );
  return `${sections.join("\n")}\n[sso-session ${SESSION}]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\n`;
}

let idc: FakeIdc;
let home: TestHome;
let bound: Record<string, string>;
let agent: AgentHandle;
const logs: string[] = [];
const events = createAgentEventLog(logs);
const { history, waitFor } = events;
const cleanups: (() => PromiseLike<unknown>)[] = [];

beforeAll(async () => {
  const { busybox } = await ensureTestImages();
  await buildImage(FEATURE_IMAGE, featureDockerfile(busybox), true);
  await buildImage(LINKED_IMAGE, linkedDockerfile(busybox), false);
  cleanups.push(() => execa("docker", ["rmi", "--force", FEATURE_IMAGE, LINKED_IMAGE], { reject: false }));
  cleanups.push(() => sweepTestContainers());
  idc = await startFakeIdc();
  cleanups.push(() => idc.close());
  home = await makeTestHome({ config: agentConfig(idc.startUrl), endpointEnv: idc.endpointEnv() });
  cleanups.push(() => home[Symbol.asyncDispose]());
  // The devcontainer.json these containers come from, as the Dev Containers CLI labels them: it
  // binds them to this HOME's agent (src/agent/binding.ts) for the Feature's profile.
  const devcontainerJson = join(home.home, "devcontainer.json");
  await writeFile(devcontainerJson, JSON.stringify({ features: { "./sso-docker": { profiles: GRANTED } } }));
  bound = { "devcontainer.config_file": devcontainerJson };
  const deps = createDeps({
    env: home.env,
    platform: "linux",
    logger: createLogger({ debug: true, write: (line) => logs.push(line) }),
  });
  const seeded = idc.createSession();
  await writeSsoToken(
    tokenCachePath(deps.paths.ssoCacheDir, { sessionName: SESSION, startUrl: idc.startUrl }),
    {
      startUrl: idc.startUrl,
      region: "us-east-1",
      accessToken: seeded.accessToken,
      expiresAt: isoSeconds(seeded.expiresAt),
      clientId: seeded.clientId,
      clientSecret: seeded.clientSecret,
      registrationExpiresAt: isoSeconds(seeded.registrationExpiresAt),
      ...(seeded.refreshToken === undefined ? {} : { refreshToken: seeded.refreshToken }),
    },
  );
  agent = await startAgent(deps, { openBrowser: false });
  cleanups.push(() => agent.stop());
  events.attach(agent, ["pushed", "pushFailed", "ignored"]);
  await agent.ready;
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (process.env["AGENT_TEST_LOG"]) console.info(logs.join("\n"));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Runs `script` with /bin/sh in the container; fails the test on a non-zero exit. */
async function shell(c: TestContainer, script: string, user = "0"): Promise<string> {
  const result = await c.exec(["/bin/sh", "-c", script], { user });
  expect(result.exitCode, `${script}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

/** Whether the agent pushed to the container or left it alone, first seen at or after `from`. */
function outcomeOf(id: string, from: number, timeoutMs = 20_000): Promise<"pushed" | "ignored"> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const hit = history
        .slice(from)
        .find(
          (h) =>
            (h.name === "pushed" || h.name === "ignored") &&
            (h.event as { containerId: string }).containerId === id,
        );
      if (hit === undefined) return;
      done();
      resolve(hit.name as "pushed" | "ignored");
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the agent neither pushed to nor ignored ${id} within ${String(timeoutMs)} ms`));
    }, timeoutMs);
    // Registered after events.attach's listeners, so history already holds the event.
    const off = [agent.on("pushed", check), agent.on("ignored", check)];
    const done = () => {
      clearTimeout(timer);
      for (const unsubscribe of off) unsubscribe();
    };
    check();
  });
}

/** Restarts the container and resolves with the agent's first push after it. */
async function restartAndWaitForPush(c: TestContainer) {
  const mark = history.length;
  await execa("docker", ["restart", "-t", "1", c.id]);
  return waitFor("pushed", (e) => e.containerId === c.id, mark, 20_000, "push after docker restart");
}

describe("a Dev Container Feature container attacking its own grant", () => {
  it("root rewriting /etc/sso-docker/profiles and /etc/sso-docker/user, then restarting, still gets only the image's profile, owned by the image's user", async () => {
    const mark = history.length;
    const c = await startContainer(FEATURE_IMAGE, { labels: bound }); // as root, like many dev containers
    const first = await waitFor("pushed", (e) => e.containerId === c.id, mark, 20_000, "first push");
    expect(first.profiles).toEqual([GRANTED]);

    await shell(c, `printf '${OTHER}\\n' > /etc/sso-docker/profiles && echo root > /etc/sso-docker/user`);
    expect(await shell(c, "/bin/cat /etc/sso-docker/profiles /etc/sso-docker/user")).toBe(`${OTHER}\nroot`);

    const after = await restartAndWaitForPush(c);
    expect(after.profiles, "the agent pushed what the container's writable layer asked for").toEqual([
      GRANTED,
    ]);
    const files = (await shell(c, `ls ${SHM_SECRET_DIR}`)).split("\n");
    expect(files).toContain(`${GRANTED}.json`);
    expect(files).not.toContain(`${OTHER}.json`);
    const pushed = JSON.parse(await shell(c, `/bin/cat ${SHM_SECRET_DIR}/${GRANTED}.json`)) as {
      AccessKeyId: string;
    };
    const issued = idc.issuedCredentials();
    expect(issued.find((i) => i.accessKeyId === pushed.AccessKeyId)).toMatchObject({
      accountId: "111111111111",
      roleName: "AdministratorAccess",
    });
    expect(issued.filter((i) => i.accountId === "222222222222")).toEqual([]);
    expect(await shell(c, `stat -c %u:%a ${SHM_SECRET_DIR}/${GRANTED}.json`)).toBe("1000:600");
  });

  // Every agent on this engine that reads Feature containers syncs this one: one that still execs
  // `cat` in them (an older sso-docker, another checkout's tests) fails this test as well, rightly.
  it("a user who can write a directory first on PATH plants `cat`: the agent never runs it as root", async () => {
    const mark = history.length;
    const c = await startContainer(FEATURE_IMAGE, { user: "dev", labels: bound });
    await waitFor("pushed", (e) => e.containerId === c.id, mark, 20_000, "first push");
    const plant = '#!/bin/sh\nid -u >> /tmp/cat-uids\nexec /bin/cat "$@"\n';
    await shell(c, `printf '%s' '${plant}' > /opt/dev-bin/cat && chmod 755 /opt/dev-bin/cat`, "dev");
    // The plant works: `cat` looked up on the container's PATH, as the engine looks up an exec's
    // command, is the plant (this records 1000). busybox sh would run its own applet instead.
    const control = await c.exec(["cat", "/etc/sso-docker/profiles"], { user: "dev" });
    expect(control).toMatchObject({ exitCode: 0, stdout: GRANTED });

    await restartAndWaitForPush(c);
    const uids = (await shell(c, "/bin/cat /tmp/cat-uids")).split("\n");
    expect(uids, "the agent ran the planted cat as root").toEqual(["1000"]);
  });
});

describe("Feature images the agent cannot use", () => {
  it("an image without the Feature's files, the marker set in the container's env: one warning naming container and image", async () => {
    const { busybox } = await ensureTestImages();
    const mark = history.length;
    const c = await startContainer(busybox, { env: { SSO_DOCKER_FEATURE: "1" }, labels: bound });
    await waitFor("ignored", (e) => e.containerId === c.id, mark, 20_000, "ignored");
    const imageId = (await execa("docker", ["inspect", "-f", "{{.Image}}", c.id])).stdout.trim();
    const warnings = logs.filter((line) => line.includes(c.name) && line.includes("warning: "));
    expect(warnings).toEqual([
      expect.stringContaining(
        `container ${c.name} (image ${imageId.slice(0, 19)}) has SSO_DOCKER_FEATURE=1 but its image has no /etc/sso-docker/profiles; rebuild it with the sso-docker Feature`,
      ),
    ]);
  });

  it("an image whose profiles file is a symbolic link: refused, with the link's target quoted", async () => {
    const mark = history.length;
    const c = await startContainer(LINKED_IMAGE, { labels: bound });
    expect(await outcomeOf(c.id, mark), "the agent followed the link to a file dev owns").toBe("ignored");
    const warnings = logs.filter((line) => line.includes(c.name) && line.includes("warning: "));
    expect(warnings).toEqual([
      expect.stringContaining(
        "/etc/sso-docker/profiles is a symbolic link (to «/home/dev/profiles»), not a regular file.",
      ),
    ]);
  });
});
