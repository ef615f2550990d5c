// Benchmark: `sso-docker run --rm IMAGE true` vs `docker run --rm IMAGE true`, interleaved in
// one run with two more commands that split the difference: the floor of any Node CLI wrapping
// docker run (node-floor.mjs), and docker run given the very container sso-docker asks for
// (tmpfs, volume, labels, config path) straight from this script. sso-docker is the installed
// command (the shell front, dist/bin/sso-docker): after the warm-up run it has a plan and
// execs docker. Then the time from the container's first instruction to readable credentials.
// Usage: node bench/run-container.mjs [runs]   (after `npm run build`, with a Docker engine)
import { median, writeResult } from "./lib.mjs";
import { fileURLToPath } from "node:url";
import { FRONT, busyboxImage, signedInHome, timeCommand } from "./setup.mjs";
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
try {
  const options = { env: ctx.env, extendEnv: false };
  const label = ["--label", "sso-docker.bench=1"];
  // Warm-up: image layers, page cache, the role-credential cache.
  await timeCommand("docker", ["run", "--rm", ...label, image, "true"], options);
  // Through Node: it sets up the volume and writes the plan the later runs use.
  await timeCommand(FRONT, ["run", "--profile", "dev", "--rm", ...label, image, "true"], options);
  const volume = volumeName(renderStaticFiles([{ name: "dev", region: "us-east-1" }], RUN_LAYOUT));
  const shapeArgs = [
    "run",
    ...deliveryOptions(["dev"], volume, grantFor(await loadGrantKey(ctx.env, ctx.home), ["dev"])),
    "--label",
    "sso-docker.run=bench",
    "--rm",
    ...label,
    image,
    "true",
  ];
  const plain = [];
  const shape = [];
  const floor = [];
  const ours = [];
  // The same run forced through Node (as the first run of a set of profiles goes).
  const viaNode = [];
  const nodeOptions = { ...options, env: { ...options.env, SSO_DOCKER_NODE_RUN: "1" } };
  for (let i = 0; i < runs; i++) {
    plain.push((await timeCommand("docker", ["run", "--rm", ...label, image, "true"], options)).ms);
    shape.push((await timeCommand("docker", shapeArgs, options)).ms);
    floor.push(
      (await timeCommand(process.execPath, [FLOOR, "run", "--rm", ...label, image, "true"], options)).ms,
    );
    ours.push(
      (await timeCommand(FRONT, ["run", "--profile", "dev", "--rm", ...label, image, "true"], options)).ms,
    );
    viaNode.push(
      (await timeCommand(FRONT, ["run", "--profile", "dev", "--rm", ...label, image, "true"], nodeOptions))
        .ms,
    );
  }
  // First instruction → credentials readable, measured inside with /proc/uptime (10 ms resolution).
  const probe = `a=$(cut -d' ' -f1 /proc/uptime); /bin/sh ${RUN_HELPER_PATH} ${TMPFS_SECRET_DIR}/dev.json >/dev/null; b=$(cut -d' ' -f1 /proc/uptime); echo $a $b`;
  const toCredentials = [];
  for (let i = 0; i < runs; i++) {
    const { result } = await timeCommand(
      FRONT,
      ["run", "--profile", "dev", "--rm", ...label, image, "sh", "-c", probe],
      options,
    );
    const [a, b] = result.stdout.trim().split(" ").map(Number);
    toCredentials.push(Math.round((b - a) * 1000));
  }
  await writeResult({
    benchmark: "run-container",
    runs,
    dockerRunMedianMs: median(plain),
    containerShapeMedianMs: median(shape),
    shapeRatio: median(shape) / median(plain),
    nodeFloorMedianMs: median(floor),
    ssoDockerRunMedianMs: median(ours),
    ratio: median(ours) / median(plain),
    floorRatio: median(floor) / median(plain),
    overFloorMs: median(ours) - median(floor),
    throughNodeMedianMs: median(viaNode),
    throughNodeRatio: median(viaNode) / median(plain),
    target: 1.15,
    startToCredentialsMedianMs: median(toCredentials),
    startToCredentialsMaxMs: Math.max(...toCredentials),
    startToCredentialsTargetMs: 250,
    node: process.version,
  });
} finally {
  await ctx.close();
}
