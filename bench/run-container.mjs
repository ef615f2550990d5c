// Benchmark: `sso-docker run --rm IMAGE true` beside, interleaved in one run, plain `docker run
// --rm IMAGE true`, docker run given the very container sso-docker asks for (tmpfs, volume,
// labels, config path) straight from this script, and the floor of any Node CLI in front of
// docker (node-floor.mjs: start Node, spawn that same `docker run`, exit with its code). sso-docker
// is the installed bin (dist/bin/main.js through its `#!/usr/bin/env node`, on this Node): it
// checks, then becomes docker run (process.execve on Node >= 22.15, a child below). The target is
// its own time over the floor, per pair of runs. Then the time from the container's first
// instruction to readable credentials, which the agent (started by the first run) pushes.
// Usage: node bench/run-container.mjs [runs]   (after `npm run build`, with a Docker engine)
import { execa } from "execa";
import { fileURLToPath } from "node:url";
import { median, writeResult } from "./lib.mjs";
import { BIN, CLI, busyboxImage, signedInHome, timeCommand } from "./setup.mjs";
import { RUN_HELPER_PATH, TMPFS_SECRET_DIR } from "../dist/delivery/paths.js";
import { RUN_LAYOUT } from "../dist/delivery/secret-dir.js";
import { renderStaticFiles } from "../dist/delivery/static-files.js";
import { grantFor } from "../dist/agent/grant.js";
import { loadGrantKey } from "../dist/agent/grant-key.js";
import { deliveryOptions } from "../dist/run/run-container.js";
import { volumeName } from "../dist/run/run-volume.js";

const FLOOR = fileURLToPath(new URL("./node-floor.mjs", import.meta.url));

const runs = Number(process.argv[2] ?? 10);
const image = await busyboxImage();
const ctx = await signedInHome();
const options = { env: ctx.env, extendEnv: false };
try {
  const label = ["--label", "sso-docker.bench=1"];
  const ours = ["run", "--profile", "dev", "--rm", ...label, image, "true"];
  // Warm-up: image layers, page cache; the first run starts the agent and sets up the volume,
  // the second finds both (as every later run does).
  await timeCommand("docker", ["run", "--rm", ...label, image, "true"], options);
  const first = await timeCommand(BIN, ours, options);
  await timeCommand(BIN, ours, options);
  const volume = volumeName(renderStaticFiles([{ name: "dev", region: "us-east-1" }], RUN_LAYOUT));
  const shapeArgs = [
    "run",
    ...deliveryOptions(["dev"], volume, grantFor(await loadGrantKey(ctx.env, ctx.home), ["dev"])),
    "--rm",
    ...label,
    image,
    "true",
  ];
  const plain = [];
  const shape = [];
  const floor = [];
  const run = [];
  for (let i = 0; i < runs; i++) {
    plain.push((await timeCommand("docker", ["run", "--rm", ...label, image, "true"], options)).ms);
    shape.push((await timeCommand("docker", shapeArgs, options)).ms);
    floor.push((await timeCommand(process.execPath, [FLOOR, ...shapeArgs], options)).ms);
    run.push((await timeCommand(BIN, ours, options)).ms);
  }
  const overFloor = run.map((ms, i) => ms - floor[i]);
  // First instruction → credentials readable, measured inside with /proc/uptime (10 ms resolution).
  const probe = `a=$(cut -d' ' -f1 /proc/uptime); /bin/sh ${RUN_HELPER_PATH} ${TMPFS_SECRET_DIR}/dev.json >/dev/null; b=$(cut -d' ' -f1 /proc/uptime); echo $a $b`;
  const toCredentials = [];
  for (let i = 0; i < runs; i++) {
    const { result } = await timeCommand(
      BIN,
      ["run", "--profile", "dev", "--rm", ...label, image, "sh", "-c", probe],
      options,
    );
    const [a, b] = result.stdout.trim().split(" ").map(Number);
    toCredentials.push(Math.round((b - a) * 1000));
  }
  await writeResult({
    benchmark: `run-container-node${process.versions.node.split(".")[0]}`,
    runs,
    execve: typeof process.execve === "function",
    dockerRunMedianMs: median(plain),
    containerShapeMedianMs: median(shape),
    shapeRatio: median(shape) / median(plain),
    nodeFloorMedianMs: median(floor),
    floorRatio: median(floor) / median(plain),
    ssoDockerRunMedianMs: median(run),
    ratio: median(run) / median(plain),
    overFloorMedianMs: median(overFloor),
    overFloorTargetMs: 40,
    firstRunMs: first.ms,
    startToCredentialsMedianMs: median(toCredentials),
    startToCredentialsMaxMs: Math.max(...toCredentials),
    startToCredentialsTargetMs: 250,
    node: process.version,
  });
} finally {
  await execa(process.execPath, [CLI, "agent", "stop"], { ...options, reject: false });
  await ctx.close();
}
