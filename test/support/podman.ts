import { spawn } from "node:child_process";
import { mkdir, open, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { execa } from "execa";
import type { TestImages } from "./images.js";

/**
 * Rootful Podman for test/podman*.test.ts: its Docker-compatible API on the standard rootful
 * socket, started here when nothing answers there, and the offline test images copied into its
 * own image store.
 */
export const PODMAN_SOCKET = "/run/podman/podman.sock";
export const PODMAN_HOST = `unix://${PODMAN_SOCKET}`;
/** The podman CLI pointed at that service, as `sso-docker run` points it. */
export const PODMAN_REMOTE = ["--remote", "--url", PODMAN_HOST] as const;

const CACHE = process.env["SSO_DOCKER_TEST_CACHE"] ?? "/var/cache/sso-docker-test";
/**
 * This sandbox refuses raised rlimits (`error setting rlimit type 7`): containers get defaults
 * it may set. The service is started with it; a podman CLI that makes containers itself (not
 * through the service) needs it in CONTAINERS_CONF too.
 */
export const PODMAN_CONTAINERS_CONF = `${CACHE}/podman-containers.conf`;
const START_PATIENCE_MS = 30_000;

/** The service answers `/_ping` on the socket. */
function pings(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: PODMAN_SOCKET, path: "/_ping", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => {
      resolve(false);
    });
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * Starts `podman system service` unless it answers, and leaves it running for the next file, as
 * dockerd is, with PODMAN_CONTAINERS_CONF.
 */
export async function ensurePodmanService(): Promise<void> {
  await mkdir(CACHE, { recursive: true });
  await writeFile(
    PODMAN_CONTAINERS_CONF,
    '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n',
  );
  if (await pings()) return;
  const podman = await execa("podman", ["--version"], { reject: false });
  if (podman.exitCode !== 0)
    throw new Error("podman is not installed: `apt-get install -y podman` (.ci/run does).");
  await mkdir("/run/podman", { recursive: true });
  const log = await open(`${CACHE}/podman-service.log`, "a");
  const child = spawn("podman", ["system", "service", "--time=0", PODMAN_HOST], {
    detached: true,
    stdio: ["ignore", log.fd, log.fd],
    env: { ...process.env, CONTAINERS_CONF: PODMAN_CONTAINERS_CONF },
  });
  child.unref();
  await log.close();
  // The service has no readiness event to wait on: ask until it answers, within a bound.
  const deadline = Date.now() + START_PATIENCE_MS;
  while (!(await pings())) {
    if (child.exitCode !== null)
      throw new Error(`podman system service exited ${child.exitCode}: see ${CACHE}/podman-service.log`);
    if (Date.now() > deadline)
      throw new Error(`podman system service did not answer on ${PODMAN_SOCKET} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Copies each test image from Docker into Podman's store unless Podman has it (`docker save |
 * podman load`, ~30 s for all three the first time on a machine, nothing after).
 */
export async function loadTestImagesIntoPodman(images: TestImages): Promise<void> {
  const missing: string[] = [];
  for (const tag of [images.busybox, images.noShell, images.debianAws]) {
    const exists = await execa("podman", [...PODMAN_REMOTE, "image", "exists", tag], { reject: false });
    if (exists.exitCode !== 0) missing.push(tag);
  }
  if (missing.length === 0) return;
  const save = execa("docker", ["save", ...missing], { buffer: false, stdout: "pipe" });
  const load = execa("podman", [...PODMAN_REMOTE, "load"], { stdin: save.stdout, reject: false });
  const [saved, loaded] = await Promise.all([save, load]);
  if (saved.exitCode !== 0 || loaded.exitCode !== 0)
    throw new Error(`docker save | podman load of ${missing.join(" ")} failed: ${loaded.stderr}`);
}

/** `podman <args>` against the service; never rejects, the caller checks exitCode. */
export async function podman(args: readonly string[], input?: string) {
  const result = await execa("podman", [...PODMAN_REMOTE, ...args], {
    reject: false,
    ...(input === undefined ? { stdin: "ignore" as const } : { input }),
  });
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}
