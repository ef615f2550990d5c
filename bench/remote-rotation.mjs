// Rotation soak for an attached remote target (issue 11, acceptance 2), after `npm run build`,
// with a Docker engine and the test images: the fake IAM Identity Center issuing 40-s role
// credentials, a codespace stand-in from the test suite's fake platform (a debian-sshd container
// reached through a fake `gh codespace ssh --stdio`), `sso-docker attach codespace:NAME --profile
// dev`, and the detached `sso-docker agent` as a user runs them (its default 30-s rounds). Then,
// for N minutes, two loops inside the target call STS GetCallerIdentity against the fake, which
// checks every SigV4 signature: boto3 with ONE client made up front (refreshing through
// credential_process on its own, never retrying) and the AWS CLI, one process per call. Reports
// calls, failed calls (target 0), every distinct access key the clients signed with (rotations
// seen), how close to its expiry a replaced key was last used (the margin the pushes left), the
// agent's pushes, its RSS and the machine's load average.
// Usage: node bench/remote-rotation.mjs [minutes=5]
import { readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { execa } from "execa";
import { agentFiles } from "../dist/agent/agent-files.js";
import { runningAgentPid } from "../dist/agent/agent-lock.js";
import { createDockerEngine } from "../dist/docker/engine.js";
import { writeResult } from "./lib.mjs";
import { CLI, importTestSupport, signedInHome } from "./setup.mjs";

const minutes = Number(process.argv[2] ?? 5);
if (!(minutes > 0)) throw new Error(`minutes must be a positive number, not ${process.argv[2]}`);
const CREDENTIAL_SECONDS = 40;
const TARGET = "cs-soak";
const BOTO3_PERIOD_SECONDS = 1;
/** One AWS CLI call that takes longer is counted failed (and killed). */
const CLI_CALL_TIMEOUT_SECONDS = 60;

const { createFakePlatform, ensureTestImages, sweepTestContainers, BOTO3_STS_CLIENT } =
  await importTestSupport({
    "./test/support/fake-platform.js": ["createFakePlatform"],
    "./test/support/images.js": ["ensureTestImages"],
    "./test/support/docker.js": ["sweepTestContainers"],
    "./test/support/sdk-loops.js": ["BOTO3_STS_CLIENT"],
  });

// Each loop prints one JSON line per call: the key that signed it (from its Authorization header),
// the error if it failed, and when the call ended. Neither ever prints a secret.
const BOTO3_LOOP = `
import json, re, sys, time, boto3
from botocore.config import Config
endpoint, seconds, period = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
${BOTO3_STS_CLIENT}
t0, i = time.monotonic(), 0
while time.monotonic() < t0 + seconds:
    time.sleep(max(0.0, t0 + i * period - time.monotonic()))
    signed["key"] = None
    try:
        arn = client.get_caller_identity()["Arn"]
        line = {"client": "boto3", "key": signed["key"], "ok": True, "arn": arn}
    except Exception as e:
        line = {"client": "boto3", "key": signed["key"], "ok": False, "error": f"{type(e).__name__}: {e}"}
    line["at"] = time.time()
    print(json.dumps(line), flush=True)
    i += 1
`;

// The AWS CLI's --debug log names the signing key (Credential=KEY/…); it is read in memory here
// and only the key id kept: the log also holds the session token, so it never reaches a file.
const CLI_LOOP = `
import json, re, subprocess, sys, time
endpoint, seconds, timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
while time.monotonic() < t0 + seconds:
    try:
        p = subprocess.run(["aws", "--debug", "sts", "get-caller-identity", "--endpoint-url", endpoint,
                            "--output", "text", "--query", "Arn"], capture_output=True, text=True, timeout=timeout)
        match = re.search(r"Credential=([A-Z0-9]+)/", p.stderr)
        line = {"client": "aws-cli", "key": match.group(1) if match else None, "ok": p.returncode == 0}
        if p.returncode == 0:
            line["arn"] = p.stdout.strip()
        else:
            last = [l for l in p.stderr.splitlines() if l.strip()][-1:] or ["(no output)"]
            secretish = "Authorization" in last[0] or "Token" in last[0] or "Secret" in last[0]
            line["error"] = "(a debug line, withheld)" if secretish else f"exit {p.returncode}: {last[0][:300]}"
    except subprocess.TimeoutExpired:
        line = {"client": "aws-cli", "key": None, "ok": False, "error": f"no answer within {timeout} s"}
    line["at"] = time.time()
    print(json.dumps(line), flush=True)
`;

// Both loops side by side, as the target's user with AWS_PROFILE=dev, as a terminal in it would.
const BOTH = `python3 -c "$2" "$1" "$4" "$5" & b=$!
python3 -c "$3" "$1" "$4" "$6" & c=$!
wait $b; wait $c`;

const images = await ensureTestImages();
const cleanups = [];
const stop = new AbortController();
// Ctrl-C ends the soak early; what it started is still cleaned up below. `on`, not `once`: execa's
// exit hook re-raises a signal that finds no other listener, which would end the bench at once.
process.on("SIGINT", () => stop.abort(new Error("interrupted")));
process.on("SIGTERM", () => stop.abort(new Error("terminated")));

/** `sso-docker ARGS` as the user runs it, in the bench's HOME with the fake `gh` first on PATH. */
const sso = (env, args) => execa(process.execPath, [CLI, ...args], { env, extendEnv: false, all: true });

async function rssOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const mib = (key) =>
    Math.round(Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 102.4) / 10;
  return { rssMiB: mib("VmRSS"), peakRssMiB: mib("VmHWM") };
}

/** Runs both loops in the target for `seconds`; every call's line, parsed, as it arrives. */
async function runLoops(container, endpoint, seconds) {
  const calls = [];
  let junk = 0;
  const loops = execa(
    "docker",
    [
      "exec",
      "--user",
      "dev",
      "--env",
      "AWS_PROFILE=dev",
      container.id,
      "sh",
      "-c",
      BOTH,
      "sh",
      endpoint,
      BOTO3_LOOP,
      CLI_LOOP,
      String(seconds),
      String(BOTO3_PERIOD_SECONDS),
      String(CLI_CALL_TIMEOUT_SECONDS),
    ],
    {
      buffer: { stdout: false, stderr: true },
      maxBuffer: { stderr: 64 * 1024 },
      reject: false,
      cancelSignal: stop.signal,
      // Two minutes past the end for the last calls and the interpreters' exit.
      timeout: (seconds + 120) * 1000,
    },
  );
  // The target's output is read as untrusted: lines only, each bounded, JSON or counted as junk.
  for await (const text of createInterface({ input: loops.stdout, crlfDelay: Infinity })) {
    try {
      if (text.length > 4096) throw new Error("too long");
      const line = JSON.parse(text);
      if (typeof line?.client !== "string" || typeof line.ok !== "boolean") throw new Error("not a call");
      calls.push(line);
    } catch {
      junk++;
    }
  }
  const result = await loops;
  return { calls, junk, exitCode: result.exitCode, stderr: result.stderr.slice(-2000) };
}

/**
 * How close to its expiry each replaced key was last used: the least of these is the margin the
 * agent's pushes left (the last key, still current at the end, is not counted).
 */
function leastHeadroomSeconds(ours, expiries) {
  const lastUse = new Map();
  for (const c of ours) if (c.ok && typeof c.key === "string") lastUse.set(c.key, c.at * 1000);
  const replaced = [...lastUse].slice(0, -1).filter(([key]) => expiries.has(key));
  if (replaced.length === 0) return undefined;
  return Math.round(Math.min(...replaced.map(([key, at]) => expiries.get(key) - at)) / 100) / 10;
}

function summarize(calls, client, expiries) {
  const ours = calls.filter((c) => c.client === client);
  const keys = [...new Set(ours.map((c) => c.key).filter((k) => typeof k === "string"))];
  return {
    calls: ours.length,
    failedCalls: ours.filter((c) => !c.ok).length,
    distinctKeys: keys.length,
    keysNotIssuedByTheFake: keys.filter((k) => !expiries.has(k)).length,
    leastHeadroomSeconds: leastHeadroomSeconds(ours, expiries),
    failures: ours
      .filter((c) => !c.ok)
      .slice(0, 5)
      .map((c) => ({ at: new Date(c.at * 1000).toISOString(), error: String(c.error).slice(0, 300) })),
  };
}

const started = Date.now();
const load = [loadavg()[0]];
const sampler = setInterval(() => load.push(loadavg()[0]), 10_000);
let agentPid;
let ctx;
try {
  ctx = await signedInHome({ host: "0.0.0.0", lifetimes: { roleCredentialSeconds: CREDENTIAL_SECONDS } });
  cleanups.push(() => ctx.close());
  const endpoint = `http://host.docker.internal:${new URL(ctx.idc.url).port}`;
  const platform = await createFakePlatform(images.debianSshd);
  cleanups.push(() => platform[Symbol.asyncDispose]());
  cleanups.push(() => sweepTestContainers());
  const env = { ...ctx.env, PATH: `${platform.binDir}:${ctx.env.PATH}` };
  const files = agentFiles(env, ctx.home, createDockerEngine({ env, home: ctx.home }).host);
  const container = await platform.add(`codespace:${TARGET}`, {
    hostGateway: true,
    tmpfs: ["/run/sso-docker"],
  });

  // Cleanups run last-in first: the agent stops before its target's container goes.
  cleanups.push(async () => {
    await sso(env, ["agent", "stop"]).catch(() => undefined);
    const left = await runningAgentPid(files);
    if (left !== undefined) process.kill(left, "SIGKILL");
  });
  process.stdout.write((await sso(env, ["agent", "--detach"])).all + "\n");
  agentPid = await runningAgentPid(files);
  const attach = await sso(env, [
    "attach",
    `codespace:${TARGET}`,
    "--profile",
    "dev",
    "--ssh-user",
    "dev",
    "-i",
    platform.keyFile,
  ]);
  process.stdout.write(attach.all + "\n");

  process.stdout.write(`soaking ${minutes} min: boto3 and AWS CLI loops in codespace:${TARGET}\n`);
  const soakStart = Date.now();
  const loops = await runLoops(container, endpoint, minutes * 60);
  const soakSeconds = (Date.now() - soakStart) / 1000;
  const memory = await rssOf(agentPid);
  if (stop.signal.aborted) throw stop.signal.reason;

  const expiries = new Map(ctx.idc.issuedCredentials().map((c) => [c.accessKeyId, c.expiration]));
  const boto3 = summarize(loops.calls, "boto3", expiries);
  const cli = summarize(loops.calls, "aws-cli", expiries);
  const allKeys = new Set(loops.calls.map((c) => c.key).filter((k) => typeof k === "string"));
  const log = await readFile(files.logFile, "utf8");
  const pushLines = log.split("\n").filter((l) => l.includes(`pushed dev to codespace:${TARGET}`));
  const pushFailures = log.split("\n").filter((l) => l.includes(`push to codespace:${TARGET} failed`));
  const sts = ctx.idc.count("/", { operation: "GetCallerIdentity" });
  await writeResult({
    benchmark: "remote-rotation",
    minutes,
    soakSeconds: Math.round(soakSeconds),
    credentialSeconds: CREDENTIAL_SECONDS,
    rotationsSeen: Math.max(0, allKeys.size - 1),
    distinctKeysSeen: allKeys.size,
    calls: boto3.calls + cli.calls,
    failedCalls: boto3.failedCalls + cli.failedCalls,
    boto3,
    awsCli: cli,
    unreadableLines: loops.junk,
    loopsExitCode: loops.exitCode,
    ...(loops.stderr.trim() === "" ? {} : { loopsStderrTail: loops.stderr }),
    // The agent's own rounds; attach's first push is not among them.
    agentPushes: pushLines.length,
    agentPushFailures: pushFailures.length,
    agentPushFailureLines: pushFailures.slice(0, 5),
    getRoleCredentials: ctx.idc.count("/federation/credentials", { status: 200 }),
    stsGetCallerIdentity: {
      answered: sts,
      ok: ctx.idc.count("/", { operation: "GetCallerIdentity", status: 200 }),
    },
    agentRssMiB: memory.rssMiB,
    agentPeakRssMiB: memory.peakRssMiB,
    loadAverage1m: {
      start: Math.round(load[0] * 10) / 10,
      mean: Math.round((load.reduce((a, b) => a + b, 0) / load.length) * 10) / 10,
      max: Math.round(Math.max(...load) * 10) / 10,
    },
    goals: {
      noFailedCalls: boto3.failedCalls + cli.failedCalls === 0,
      rotationsSeenByBothClients: boto3.distinctKeys > 1 && cli.distinctKeys > 1,
      everyKeyIssuedByTheFake: boto3.keysNotIssuedByTheFake + cli.keysNotIssuedByTheFake === 0,
    },
    node: process.version,
    wallSeconds: Math.round((Date.now() - started) / 1000),
  });
} finally {
  clearInterval(sampler);
  for (const cleanup of cleanups.reverse()) {
    await Promise.resolve()
      .then(cleanup)
      .catch((err) => process.stderr.write(`cleanup: ${err.message}\n`));
  }
}
