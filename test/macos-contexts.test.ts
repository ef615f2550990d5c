import { createHash } from "node:crypto";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { agentFiles } from "../src/agent/agent-files.js";
import { isAlive } from "../src/agent/agent-lock.js";
import type { AgentStateFile } from "../src/agent/agent-state.js";
import type { StatusReport } from "../src/agent/status-report.js";
import { locateEngine, toEngineEndpoint } from "../src/docker/engine-options.js";
import { createDockerEngine } from "../src/docker/engine.js";
import { assertBuilt, cliEnv, createHome, runCli } from "./cli-support.js";
import { startContainer, sweepTestContainersAfterAll } from "./support/docker.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import type { TestImages } from "./support/images.js";

// macOS engines are found through the docker CLI's contexts, each a socket under the user's home.
// The contexts here are written the way each product writes its own; on this Linux machine the
// sockets are symbolic links to the real engine's, so what is found is also connected to.
sweepTestContainersAfterAll();
let images: TestImages;
beforeAll(async () => {
  assertBuilt();
  images = await ensureTestImages();
}, IMAGE_BUILD_TIMEOUT_MS);

interface Product {
  context: string;
  description: string;
  /** The socket, relative to the home directory. */
  socket: readonly string[];
}

const PRODUCTS: readonly Product[] = [
  { context: "desktop-linux", description: "Docker Desktop", socket: [".docker", "run", "docker.sock"] },
  { context: "colima", description: "colima", socket: [".colima", "default", "docker.sock"] },
  { context: "orbstack", description: "OrbStack", socket: [".orbstack", "run", "docker.sock"] },
  { context: "rancher-desktop", description: "Rancher Desktop moby context", socket: [".rd", "docker.sock"] },
];

const socketOf = (home: string, product: Product) => join(home, ...product.socket);

/** `docker context create`'s files: contexts/meta/<sha256(name)>/meta.json under ~/.docker. */
async function writeContext(home: string, product: Product): Promise<void> {
  const id = createHash("sha256").update(product.context).digest("hex");
  const meta = join(home, ".docker", "contexts", "meta", id, "meta.json");
  await mkdir(dirname(meta), { recursive: true });
  await writeFile(
    meta,
    JSON.stringify({
      Name: product.context,
      Metadata: { Description: product.description },
      Endpoints: { docker: { Host: `unix://${socketOf(home, product)}`, SkipTLSVerify: false } },
    }),
  );
}

/** The product's socket, reaching this machine's engine. */
async function linkSocket(home: string, product: Product): Promise<void> {
  await mkdir(dirname(socketOf(home, product)), { recursive: true });
  await symlink("/var/run/docker.sock", socketOf(home, product));
}

async function useContext(home: string, name: string): Promise<void> {
  await writeFile(
    join(home, ".docker", "config.json"),
    JSON.stringify({ auths: {}, credsStore: "osxkeychain", currentContext: name }),
  );
}

describe("macOS-style docker contexts in the user's home", () => {
  it("finds each product's socket through the current context, or DOCKER_CONTEXT, and reaches the engine through it", async () => {
    await using home = await createHome();
    for (const product of PRODUCTS) {
      await writeContext(home.home, product);
      await linkSocket(home.home, product);
    }
    for (const product of PRODUCTS) {
      await useContext(home.home, product.context);
      const located = locateEngine({ env: {}, home: home.home, platform: "darwin" });
      expect(located).toEqual({
        host: `unix://${socketOf(home.home, product)}`,
        source: `context ${product.context}`,
      });
      expect(toEngineEndpoint(located, "darwin")).toEqual({
        kind: "unix",
        socketPath: socketOf(home.home, product),
      });
      await createDockerEngine({ env: {}, home: home.home }).ping();
    }
    // DOCKER_CONTEXT beats config.json's currentContext, and DOCKER_HOST beats both.
    const env = { DOCKER_CONTEXT: "colima" };
    expect(locateEngine({ env, home: home.home, platform: "darwin" }).source).toBe("context colima");
    expect(
      locateEngine({ env: { ...env, DOCKER_HOST: "unix:///x.sock" }, home: home.home, platform: "darwin" }),
    ).toEqual({
      host: "unix:///x.sock",
      source: "DOCKER_HOST",
    });
  });

  it("runs the agent on Docker Desktop's context: status names the socket and the agent follows the engine through it", async () => {
    await using home = await createHome();
    const desktop = PRODUCTS[0]!;
    await writeContext(home.home, desktop);
    await linkSocket(home.home, desktop);
    await useContext(home.home, desktop.context);
    const env = cliEnv(home);
    expect(env).not.toHaveProperty("DOCKER_HOST");
    const engineHost = `unix://${socketOf(home.home, desktop)}`;

    const started = await runCli(["agent", "--detach"], env);
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout).toContain(`Started the sso-docker agent for ${engineHost}`);
    const pid = Number(/\(pid (\d+)\)/.exec(started.stdout)?.[1]);
    try {
      const status = await runCli(["status", "--json"], env);
      expect(status.exitCode, status.stderr).toBe(0);
      expect((JSON.parse(status.stdout) as StatusReport).agent).toMatchObject({
        running: true,
        pid,
        engine: engineHost,
      });

      // A container asking for a profile this user never granted: the agent sees its start
      // through the context's socket and records the refusal in its state.
      const container = await startContainer(images.busybox, { labels: { "sso-docker.profiles": "demo" } });
      const files = agentFiles(env, home.home, engineHost);
      const end = Date.now() + 10_000;
      let state: AgentStateFile | undefined;
      while (state?.refused?.some((r) => r.id === container.id) !== true) {
        if (Date.now() > end)
          throw new Error(`the agent on ${engineHost} did not record ${container.name} within 10 s`);
        await sleep(50);
        state = JSON.parse(await readFile(files.stateFile, "utf8").catch(() => "{}")) as AgentStateFile;
      }
      expect(state.engine).toBe(engineHost);
      expect(state.connected).toBe(true);
    } finally {
      const stopped = await runCli(["agent", "stop"], env);
      expect(stopped.stdout).toContain(`Stopped the sso-docker agent for ${engineHost} (pid ${pid})`);
    }
    expect(isAlive(pid)).toBe(false);
  });
});
