// The agent's cost as the work grows (after `npm run build`, with a Docker engine): N labelled
// and granted busybox containers, the fake IAM Identity Center issuing 60-s role credentials,
// one `sso-docker agent` process. Per size:
//  - all supplied: agent spawn → every container pushed once
//  - refresh rounds: wall time from the round's fetch to its last push, per container, failed
//    pushes, GetRoleCredentials per round (the fake's own count), containers holding the round's
//    credentials afterwards (from the state file)
//  - rounds superseded before their pushes ended (a round begun while the previous one's pushes
//    ran: from the agent's log), and the peak of pushes in flight
//  - a size the engine cannot supply in time reports how far it got instead
//  - the agent's RSS after the rounds, and per container
// Usage: node bench/agent-scale.mjs [sizes=50,200,500] [rounds=2]
import { readFile, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { agentFiles } from "../dist/agent/agent-files.js";
import { createDockerEngine } from "../dist/docker/engine.js";
import { grantArgs } from "../dist/agent/grant.js";
import { loadGrantKey } from "../dist/agent/grant-key.js";
import { runSleepers, writeResult } from "./lib.mjs";
import { CLI, busyboxImage, signedInHome } from "./setup.mjs";

const sizes = (process.argv[2] ?? "50,200,500").split(",").map(Number);
const roundsPerSize = Number(process.argv[3] ?? 2);
const LABEL = "sso-docker.bench=agent-scale";
const CREDENTIAL_SECONDS = 60;
const ROLE = "AdministratorAccess@111111111111";
const GOALS = { roundWallMsAt200: 10_000, rssMiBAt50: 80, rssMiBAt500: 120 };

const image = await busyboxImage();
const ctx = await signedInHome({ lifetimes: { roleCredentialSeconds: CREDENTIAL_SECONDS } });
const files = agentFiles(ctx.env, ctx.home, createDockerEngine({ env: ctx.env, home: ctx.home }).host);
const GRANT = grantArgs(await loadGrantKey(ctx.env, ctx.home), ["dev"]);
const GET_ROLE_CREDENTIALS = "/federation/credentials";

/** Polls `predicate` every 200 ms until it returns a value; fails after `timeoutMs`. */
async function until(what, predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function readState() {
  try {
    return JSON.parse(await readFile(files.stateFile, "utf8"));
  } catch {
    return undefined;
  }
}

/** Starts containers until `n` run. */
async function ensureContainers(ids, n) {
  ids.push(...(await runSleepers(Math.max(0, n - ids.length), ["--label", LABEL, ...GRANT], image, 3600)));
}

/** The agent as a user runs it, with every log line kept with the time it arrived. */
function spawnAgent() {
  const started = performance.now();
  const child = execa(process.execPath, [CLI, "--debug", "agent"], {
    env: ctx.env,
    extendEnv: false,
    reject: false,
    buffer: false,
  });
  const lines = [];
  let partial = "";
  child.stderr.on("data", (chunk) => {
    const at = performance.now() - started;
    const parts = (partial + chunk.toString("utf8")).split("\n");
    partial = parts.pop() ?? "";
    for (const text of parts) lines.push({ at, text });
  });
  child.stdout.resume();
  return { child, started, lines };
}

const REFRESHED = /refreshed (\S+) \(expires (\S+)\); pushing to (\d+) container\(s\)/;
const TALLY =
  /refresh of (\S+): (\d+) pushed, (\d+) current(?:, (\d+) failed \([^)]*\))?(?:, (\d+) busy[^,]*\([^)]*\))?(?:, (\d+) skipped)?/;
const PUSHED = /pushed \S+ to (\S+) \(uid [^)]*\); expires \S+ \[(start|reconcile|restart|unpause)\]/;

/**
 * Rounds of the role from the log: each starts at its "refreshed" line (after its one fetch) and
 * ends at its tally, once its pushes have ended; tallies come in the rounds' order. A round that
 * starts before the previous one's tally supersedes it: the older starts no more pushes (those it
 * did not start are its "skipped"), and the two rounds' pushes run side by side meanwhile.
 */
function roundsOf(lines) {
  const rounds = [];
  let superseded = 0;
  for (const { at, text } of lines) {
    const started = REFRESHED.exec(text);
    if (started && started[1] === ROLE) {
      if (rounds.some((r) => r.endAt === undefined)) superseded++;
      rounds.push({ startAt: at, expires: started[2], containers: Number(started[3]) });
      continue;
    }
    const tally = TALLY.exec(text);
    if (tally && tally[1] === ROLE) {
      const open = rounds.find((r) => r.endAt === undefined);
      if (!open) continue;
      open.endAt = at;
      open.pushed = Number(tally[2]);
      open.current = Number(tally[3]);
      open.failed = Number(tally[4] ?? 0);
      open.busy = Number(tally[5] ?? 0);
      open.skipped = Number(tally[6] ?? 0);
    }
  }
  return { rounds, superseded };
}

/** Most pushes in flight at once: each push's end (when its line arrived) less its duration. */
function peakPushesInFlight(lines) {
  const edges = [];
  for (const { at, text } of lines) {
    const done = /: credentials in \d+ ms, push exec in (\d+) ms/.exec(text);
    const abandoned = /did not finish within (\d+) s; it was abandoned/.exec(text);
    const ms = done ? Number(done[1]) : abandoned ? Number(abandoned[1]) * 1000 : undefined;
    if (ms !== undefined) edges.push([at - ms, 1], [at, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, step] of edges) peak = Math.max(peak, (now += step));
  return peak;
}

async function rssOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024 };
}

async function measure(n) {
  const agent = spawnAgent();
  try {
    const suppliedNames = () => new Set(agent.lines.map((l) => PUSHED.exec(l.text)?.[1]).filter(Boolean));
    const supplyLimitMs = 60_000 + n * 500;
    const supplied = await until(
      `the agent to supply all ${n} containers`,
      () => (suppliedNames().size >= n ? agent.lines.findLast((l) => PUSHED.test(l.text)) : undefined),
      supplyLimitMs,
    ).catch(() => undefined);
    if (supplied === undefined) {
      // An engine too slow to supply them all in time: say how far it got, and what it cost.
      const memory = await rssOf(agent.child.pid);
      const { rounds, superseded } = roundsOf(agent.lines);
      return {
        containers: n,
        notAllSupplied: { withinMs: supplyLimitMs, supplied: suppliedNames().size },
        roundsLogged: rounds.length,
        getRoleCredentials: ctx.idc.count(GET_ROLE_CREDENTIALS, { status: 200 }),
        roundsSupersededBeforeDone: superseded,
        pushesAbandoned: agent.lines.filter((l) => l.text.includes("it was abandoned")).length,
        agentRssMiB: Math.round(memory.rssMiB * 10) / 10,
        agentPeakRssMiB: Math.round(memory.peakMiB * 10) / 10,
        peakPushesInFlight: peakPushesInFlight(agent.lines),
        loadAverage1m: Math.round(loadavg()[0] * 10) / 10,
      };
    }
    const fetchesBefore = ctx.idc.count(GET_ROLE_CREDENTIALS, { status: 200 });
    const roundsBefore = roundsOf(agent.lines).rounds.length;
    // Each round is due ~30 s after the last (half the 60-s lifetime); wait for `roundsPerSize`.
    const done = await until(
      `${roundsPerSize} refresh rounds over ${n} containers`,
      () => {
        const { rounds } = roundsOf(agent.lines);
        const ours = rounds.slice(roundsBefore);
        return ours.length >= roundsPerSize &&
          ours.slice(0, roundsPerSize).every((r) => r.endAt !== undefined)
          ? ours.slice(0, roundsPerSize)
          : undefined;
      },
      (roundsPerSize + 1) * CREDENTIAL_SECONDS * 1000 + n * 200,
    );
    const fetches = ctx.idc.count(GET_ROLE_CREDENTIALS, { status: 200 }) - fetchesBefore;
    const memory = await rssOf(agent.child.pid);
    const last = done.at(-1);
    const state = await until(
      "the state file to show the last round",
      async () => {
        const s = await readState();
        const holding = s?.containers?.filter((c) => c.credentialExpiry === last.expires).length ?? 0;
        return holding >= last.pushed + last.current ? { holding, listed: s.containers.length } : undefined;
      },
      10_000,
    ).catch(() => ({ holding: NaN, listed: NaN }));
    const { superseded, rounds } = roundsOf(agent.lines);
    const walls = done.map((r) => r.endAt - r.startAt);
    const warnings = agent.lines.filter((l) => l.text.includes(" warning: ")).map((l) => l.text);
    return {
      containers: n,
      allSuppliedAfterStartMs: Math.round(supplied.at),
      rounds: done.map((r) => ({
        wallMs: Math.round(r.endAt - r.startAt),
        perContainerMs: Math.round(((r.endAt - r.startAt) / n) * 100) / 100,
        pushed: r.pushed,
        current: r.current,
        failed: r.failed,
        busy: r.busy,
        skipped: r.skipped,
      })),
      roundWallMsMax: Math.round(Math.max(...walls)),
      roundPerContainerMsMax: Math.round((Math.max(...walls) / n) * 100) / 100,
      failedPushes: done.reduce((sum, r) => sum + r.failed, 0),
      getRoleCredentialsPerRound: fetches / done.length,
      containersHoldingLastRoundCredentials: state.holding,
      roundsLogged: rounds.length,
      roundsSupersededBeforeDone: superseded,
      agentRssMiB: Math.round(memory.rssMiB * 10) / 10,
      agentPeakRssMiB: Math.round(memory.peakMiB * 10) / 10,
      agentRssPerContainerKiB: Math.round((memory.rssMiB * 1024) / n),
      peakPushesInFlight: peakPushesInFlight(agent.lines),
      agentMemoryAfterLastRound: agent.lines
        .findLast((l) => l.text.includes("debug: memory: "))
        ?.text.replace(/^.*debug: memory: /, "")
        .replace(/ \(\+\d+ ms\)$/, ""),
      loadAverage1m: Math.round(loadavg()[0] * 10) / 10,
      warnings: warnings.slice(0, 5),
    };
  } finally {
    agent.child.kill("SIGTERM");
    await agent.child;
    // The whole log, for a look at where the time went (it names containers, never secrets).
    const log = join(tmpdir(), `sso-docker-agent-scale-${n}.log`);
    await writeFile(log, agent.lines.map((l) => `+${Math.round(l.at)} ${l.text}`).join("\n") + "\n");
    process.stdout.write(`agent log: ${log}\n`);
  }
}

const ids = [];
const results = [];
try {
  for (const n of [...sizes].sort((a, b) => a - b)) {
    const t = performance.now();
    await ensureContainers(ids, n);
    process.stdout.write(`${n} containers running (${Math.round(performance.now() - t)} ms to add)\n`);
    const result = await measure(n);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    results.push(result);
  }
  const at = (n) => results.find((r) => r.containers === n);
  // What one more container costs the agent, between the smallest and largest size.
  const [small, large] = [results[0], results.at(-1)];
  await writeResult({
    benchmark: "agent-scale",
    credentialSeconds: CREDENTIAL_SECONDS,
    sizes: results,
    marginalRssPerContainerKiB:
      results.length > 1
        ? Math.round(((large.agentRssMiB - small.agentRssMiB) * 1024) / (large.containers - small.containers))
        : undefined,
    goals: {
      ...GOALS,
      roundUnder10sAt200:
        at(200)?.roundWallMsMax === undefined ? false : at(200).roundWallMsMax < GOALS.roundWallMsAt200,
      rssAt50: at(50) ? at(50).agentRssMiB <= GOALS.rssMiBAt50 : undefined,
      rssAt500: at(500) ? at(500).agentRssMiB <= GOALS.rssMiBAt500 : undefined,
      noFailedPushes: results.every((r) => (r.failedPushes ?? 0) === 0 && (r.pushesAbandoned ?? 0) === 0),
      oneFetchPerRound: results.every((r) => r.getRoleCredentialsPerRound === 1),
      noRoundSupersededBeforeDone: results.every((r) => r.roundsSupersededBeforeDone === 0),
      allSupplied: results.every((r) => r.notAllSupplied === undefined),
    },
    node: process.version,
  });
} finally {
  const { stdout } = await execa("docker", ["ps", "-aq", "--filter", `label=${LABEL}`]);
  const left = stdout.split("\n").filter(Boolean);
  for (let i = 0; i < left.length; i += 100)
    await execa("docker", ["rm", "-f", ...left.slice(i, i + 100)], { reject: false });
  await ctx.close();
}
