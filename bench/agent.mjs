// Benchmarks for the agent, side by side in one run (after `npm run build`, with a Docker engine):
//  - push cost: one credential push vs one bare `docker exec C true`, through the same client
//  - agent start→credentials: a labelled container started by plain `docker run`
//  - fan-out: wall time of one refresh round over N containers
//  - agent RSS with N containers
// Usage: node bench/agent.mjs [containers=50]
import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { createDockerEngine } from "../dist/docker/engine.js";
import { pushCredentials } from "../dist/delivery/push-credentials.js";
import { agentFiles } from "../dist/agent/agent-files.js";
import { grantArgs } from "../dist/agent/grant.js";
import { loadGrantKey } from "../dist/agent/grant-key.js";
import { median, runSleepers, writeResult } from "./lib.mjs";
import { CLI, busyboxImage, signedInHome } from "./setup.mjs";

const n = Number(process.argv[2] ?? 50);
const LABEL = "sso-docker.bench=agent";
const image = await busyboxImage();
// 60-s credentials: the agent refreshes them every ~30 s, so a round happens during the run.
const ctx = await signedInHome({ lifetimes: { roleCredentialSeconds: 60 } });
const engine = createDockerEngine({ env: ctx.env, home: ctx.home });
// The labels `sso-docker grant --profile dev` prints: the bench HOME's agent supplies only these.
const GRANT = grantArgs(await loadGrantKey(ctx.env, ctx.home), ["dev"]);
let agent;

async function state() {
  const files = agentFiles(ctx.env, ctx.home, engine.host);
  try {
    return JSON.parse(await readFile(files.stateFile, "utf8"));
  } catch {
    return undefined;
  }
}

async function until(what, predicate, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

try {
  const ids = await runSleepers(n, ["--label", LABEL, ...GRANT], image, 900);

  // 1. Push vs bare exec, interleaved per container, sequential, same engine client.
  const credentials = JSON.parse(
    (
      await execa(process.execPath, [CLI, "credentials", "--profile", "dev"], {
        env: ctx.env,
        extendEnv: false,
      })
    ).stdout,
  );
  const profile = {
    name: "dev",
    region: "us-east-1",
    credentials: {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: new Date(credentials.Expiration),
    },
  };
  const cliExecMs = [];
  const execMs = [];
  const pushMs = [];
  for (const id of ids) {
    const details = await engine.inspectContainer(id);
    let t = performance.now();
    await execa("docker", ["exec", id, "true"]);
    cliExecMs.push(performance.now() - t);
    t = performance.now();
    await engine.exec(id, { cmd: ["true"], user: "0" });
    execMs.push(performance.now() - t);
    t = performance.now();
    await pushCredentials(engine, details, [profile]);
    pushMs.push(performance.now() - t);
  }

  // 2. The agent as users run it, on all N containers.
  agent = execa(process.execPath, [CLI, "agent"], { env: ctx.env, extendEnv: false, reject: false });
  await until("the agent to sync every container", async () => {
    const s = await state();
    return s && s.containers?.filter((c) => c.lastPush && !c.lastError).length >= n;
  });
  // Wait for one full refresh round over every container, then read the agent's memory.
  const firstPushes = new Map((await state()).containers.map((c) => [c.id, c.lastPush]));
  const round = await until(
    "a refresh round",
    async () => {
      const s = await state();
      const refreshed =
        s?.containers?.filter((c) => firstPushes.has(c.id) && c.lastPush !== firstPushes.get(c.id)) ?? [];
      if (refreshed.length < n) return undefined;
      const times = refreshed.map((c) => Date.parse(c.lastPush));
      return { wallMs: Math.max(...times) - Math.min(...times) };
    },
    180_000,
  );
  const status = await readFile(`/proc/${agent.pid}/status`, "utf8");
  const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);

  // 3. Agent-discovered container: first instruction → credentials readable (inside, /proc/uptime).
  const probe =
    "a=$(cut -d' ' -f1 /proc/uptime); while [ ! -s /dev/shm/sso-docker/dev.json ]; do sleep 0.01; done; b=$(cut -d' ' -f1 /proc/uptime); echo $a $b";
  const discovered = [];
  for (let i = 0; i < 5; i++) {
    const { stdout } = await execa("docker", [
      "run",
      "--rm",
      "--label",
      LABEL,
      ...GRANT,
      image,
      "sh",
      "-c",
      probe,
    ]);
    const [a, b] = stdout.trim().split(" ").map(Number);
    discovered.push(Math.round((b - a) * 1000));
  }

  await writeResult({
    benchmark: "agent",
    containers: n,
    dockerExecCliMedianMs: median(cliExecMs),
    apiExecMedianMs: median(execMs),
    pushMedianMs: median(pushMs),
    pushToDockerExecRatio: median(pushMs) / median(cliExecMs),
    pushToApiExecRatio: median(pushMs) / median(execMs),
    refreshRoundWallMs: round.wallMs,
    refreshRoundPerContainerMs: round.wallMs / n,
    fanOutPerContainerToDockerExecRatio: round.wallMs / n / median(cliExecMs),
    fanOutTarget: 1.2,
    agentRssMiB: kib("VmRSS") / 1024,
    agentPeakRssMiB: kib("VmHWM") / 1024,
    agentRssTargetMiB: 80,
    agentStartToCredentialsMedianMs: median(discovered),
    agentStartToCredentialsMaxMs: Math.max(...discovered),
    agentStartToCredentialsTargetMs: 1000,
    node: process.version,
  });
} finally {
  agent?.kill("SIGTERM");
  await agent;
  const { stdout } = await execa("docker", ["ps", "-aq", "--filter", `label=${LABEL}`]);
  const left = stdout.split("\n").filter(Boolean);
  if (left.length) await execa("docker", ["rm", "-f", ...left], { reject: false });
  await ctx.close();
}
