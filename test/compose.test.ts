import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { signIn } from "./cli-support.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentEvents } from "../src/agent/agent-events.js";
import type { AgentHandle } from "../src/agent/agent.js";
import { startAgent } from "../src/agent/agent.js";
import { SHM_SECRET_DIR } from "../src/delivery/paths.js";
import { createDockerEngine } from "../src/docker/engine.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { createDeps } from "../src/runtime/deps.js";
import { createLogger } from "../src/runtime/logger.js";
import { sweepTestContainers, TEST_LABEL, testRunId } from "./support/docker.js";
import type { TestHome } from "./support/host.js";
import { startGatewayIdc } from "./support/gateway-idc.js";
import { makeTestHome, ssoProfileConfig } from "./support/host.js";
import { grantLabels } from "./support/grant.js";
import { IMAGE_BUILD_TIMEOUT_MS, ensureTestImages } from "./support/images.js";
import { waitForOutput } from "./support/remote-engine.js";

// Acceptance 7 of issue 3: a `docker compose` service opts in with the label alone (no volume,
// no env, no sso-docker in the compose file otherwise) and the agent gives it credentials. The
// service waits for them, then the real AWS CLI calls the fake's STS, which checks the SigV4
// signature. Debian's docker-compose 1.29 (.ci/run installs it when the archive has it).
// The profile is "c-dev", not "dev": this agent follows the shared engine, and other test files
// run "dev" containers signed in to their own fakes at the same time.

const COMPOSE = "/usr/bin/docker-compose";
const hasCompose = existsSync(COMPOSE);
if (!hasCompose) {
  console.warn(
    `compose: ${COMPOSE} is missing (apt-get install docker-compose; .ci/run does): tests skipped`,
  );
}

const PROFILE = "c-dev";
const ACCOUNT = "111111111111";
const ROLE = "AdministratorAccess";
const ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/developer`;
const SESSION = "compose-sso";
/** Unique per run (compose keeps [a-z0-9_-]); the containers also carry the sweep label. */
const PROJECT = `ssodockertest${testRunId.replace(/[^a-z0-9]/g, "")}`;

/** The service's own program: wait for the first push, call STS once, report, then idle. */
const SERVICE_SCRIPT = [
  "trap 'exit 0' TERM INT",
  `until [ -s ${SHM_SECRET_DIR}/${PROFILE}.json ] && [ -e ~/.aws/config ]; do sleep 0.1; done`,
  `if aws sts get-caller-identity --output text --query Arn --endpoint-url "$1"; then echo STS-OK; else echo STS-FAILED; fi`,
  "while :; do sleep 3600 & wait $!; done",
].join("\n");

let idc: FakeIdc;
let home: TestHome;
let agent: AgentHandle;
let composeFile: string;
let grant = "";
let endpoint: string;
const logs: string[] = [];
const pushed: AgentEvents["pushed"][] = [];
const wakeups = new Set<() => void>();
const cleanups: (() => PromiseLike<unknown>)[] = [];

function compose(args: readonly string[]) {
  return execa(COMPOSE, ["--project-name", PROJECT, "--file", composeFile, ...args], {
    // What the README has users run: SSO_DOCKER_GRANT=$(sso-docker grant … --format value).
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", SSO_DOCKER_GRANT: grant },
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: 40_000,
  });
}

function waitForPush(containerId: string, timeoutMs = 20_000): Promise<AgentEvents["pushed"]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const hit = pushed.find((e) => e.containerId === containerId);
      if (!hit) return;
      done();
      resolve(hit);
    };
    const timer = setTimeout(() => {
      done();
      reject(
        new Error(
          `no push to ${containerId} within ${timeoutMs} ms; agent log:\n${logs.slice(-15).join("\n")}`,
        ),
      );
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      wakeups.delete(check);
    };
    wakeups.add(check);
    check();
  });
}

beforeAll(async () => {
  if (!hasCompose) return;
  // host-gateway is docker0's address; a dockerd started with `--bridge none` deletes docker0.
  const gateway = await execa("ip", ["-4", "addr", "show", "docker0"], { reject: false });
  if (!gateway.stdout.includes("inet ")) {
    throw new Error(
      `docker0 has no IPv4 address, so host-gateway leads nowhere: ${gateway.stderr || gateway.stdout}`,
    );
  }
  const image = (await ensureTestImages()).debianAws;
  ({ idc, endpoint } = await startGatewayIdc(cleanups));
  home = await makeTestHome({
    config: ssoProfileConfig({
      profile: PROFILE,
      session: SESSION,
      startUrl: idc.startUrl,
      account: ACCOUNT,
      role: ROLE,
      region: "eu-west-1",
    }),
    endpointEnv: idc.endpointEnv(),
  });
  cleanups.push(() => home[Symbol.asyncDispose]());
  const deps = createDeps({
    env: home.env,
    platform: "linux",
    logger: createLogger({ debug: true, write: (line) => logs.push(line) }),
  });
  await signIn(deps.paths, idc, SESSION);

  agent = await startAgent(deps, {
    engine: createDockerEngine({ env: {}, home: home.home }),
    openBrowser: false,
  });
  cleanups.push(() => agent.stop());
  agent.on("pushed", (event) => {
    pushed.push(event);
    for (const wake of [...wakeups]) wake();
  });
  await agent.ready;

  grant = (await grantLabels(home.home, PROFILE))["sso-docker.grant"] ?? "";
  // JSON is YAML; `$` is doubled because compose interpolates variables in the file.
  composeFile = join(home.home, "compose.yml");
  const service = {
    image,
    user: "dev",
    command: ["sh", "-c", SERVICE_SCRIPT.replaceAll("$", "$$$$"), "sh", endpoint],
    labels: [
      `sso-docker.profiles=${PROFILE}`,
      "sso-docker.grant=${SSO_DOCKER_GRANT}",
      `${TEST_LABEL}=${testRunId}`,
    ],
    extra_hosts: ["host.docker.internal:host-gateway"],
    stop_grace_period: "2s",
  };
  await writeFile(composeFile, JSON.stringify({ version: "2.4", services: { app: service } }, null, 2));
  cleanups.push(async () => {
    const down = await compose(["down", "--volumes", "--remove-orphans", "--timeout", "2"]);
    if (down.exitCode !== 0) console.warn(`docker-compose down failed:\n${down.stderr}`);
    await sweepTestContainers();
  });
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe.skipIf(!hasCompose)("a docker-compose service with the sso-docker.profiles label", () => {
  it("gets credentials from the agent: its own first STS call and `docker-compose exec` as the service user succeed", async () => {
    const version = await execa(COMPOSE, ["version", "--short"]);
    const up = await compose(["up", "--detach"]);
    expect(up.exitCode, up.stderr).toBe(0);
    const ps = await compose(["ps", "--quiet", "app"]);
    const id = ps.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const push = await waitForPush(id);
    const startedAt = (await execa("docker", ["inspect", "--format", "{{.State.StartedAt}}", id])).stdout;
    const latency = push.at - Date.parse(startedAt.replace(/(\.\d{3})\d*/, "$1"));
    console.info(`compose ${version.stdout.trim()}: service started → credentials pushed in ${latency} ms`);
    expect(push.profiles).toEqual([PROFILE]);

    // The service's own program: it saw the credentials and its STS call was accepted.
    const follow = execa("docker", ["logs", "--follow", id], { buffer: false, reject: false });
    try {
      await waitForOutput(follow, /STS-(OK|FAILED)/, `docker logs ${id.slice(0, 12)}`, 30_000);
    } finally {
      follow.kill();
    }
    const serviceLog = await execa("docker", ["logs", id]);
    expect(serviceLog.stdout.split("\n"), serviceLog.stderr).toEqual([ARN, "STS-OK"]);

    // `docker-compose exec` runs as the service's user (dev), who owns the secrets.
    const exec = await compose([
      "exec",
      "-T",
      "app",
      "sh",
      "-c",
      `id -un; stat -c '%U %a' ${SHM_SECRET_DIR} ${SHM_SECRET_DIR}/${PROFILE}.json; aws sts get-caller-identity --output text --query Arn --endpoint-url ${endpoint}`,
    ]);
    expect({ exitCode: exec.exitCode, stderr: exec.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(exec.stdout.split("\n")).toEqual(["dev", "root 711", "dev 600", ARN]);
    expect(idc.count("/", { operation: "GetCallerIdentity", status: 200 })).toBe(2);

    // Nothing mounted from the host, and no secret in the container's configuration.
    const inspect = await execa("docker", ["inspect", id]);
    const [details] = JSON.parse(inspect.stdout) as { Mounts: unknown[]; HostConfig: { Binds: unknown } }[];
    expect(details?.Mounts).toEqual([]);
    expect(details?.HostConfig.Binds ?? []).toEqual([]);
    const pushed = await execa("docker", ["exec", id, "cat", `${SHM_SECRET_DIR}/${PROFILE}.json`]);
    const secrets = JSON.parse(pushed.stdout) as { SecretAccessKey: string; SessionToken: string };
    for (const secret of [secrets.SecretAccessKey, secrets.SessionToken]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(inspect.stdout).not.toContain(secret);
      expect(logs.join("\n")).not.toContain(secret);
    }
  });
});
