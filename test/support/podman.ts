import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { TestImages } from "./images.js";

/**
 * Rootful Podman for test/podman*.test.ts: its Docker-compatible API on the standard rootful
 * socket, with the offline test images in its own image store (docker/podman-test-setup.sh).
 */
export const PODMAN_SOCKET = "/run/podman/podman.sock";
export const PODMAN_HOST = `unix://${PODMAN_SOCKET}`;
/** The podman CLI pointed at that service, as `sso-docker run` points it. */
export const PODMAN_REMOTE = ["--remote", "--url", PODMAN_HOST] as const;

const CACHE = process.env["SSO_DOCKER_TEST_CACHE"] ?? "/var/cache/sso-docker-test";
/**
 * The containers.conf the service runs with (this sandbox refuses raised rlimits): a podman CLI
 * that makes containers itself, not through the service, needs it in CONTAINERS_CONF too.
 */
export const PODMAN_CONTAINERS_CONF = `${CACHE}/podman-containers.conf`;

const setupScript = fileURLToPath(new URL("../../docker/podman-test-setup.sh", import.meta.url));

/**
 * Starts the service unless it answers, and copies the test images into Podman unless it has
 * them (`docker save | podman load`, ~30 s the first time on a machine, nothing after).
 */
export async function ensurePodman(images: TestImages): Promise<void> {
  const setup = await execa("sh", [setupScript, images.busybox, images.noShell, images.debianAws], {
    reject: false,
    stdin: "ignore",
    env: { SSO_DOCKER_TEST_CACHE: CACHE },
  });
  if (setup.exitCode !== 0)
    throw new Error(`${setupScript} failed (exit ${setup.exitCode}):\n${setup.stderr}`);
}

/** `podman <args>` against the service; never rejects, the caller checks exitCode. */
export async function podman(args: readonly string[], input?: string) {
  const result = await execa("podman", [...PODMAN_REMOTE, ...args], {
    reject: false,
    ...(input === undefined ? { stdin: "ignore" as const } : { input }),
  });
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}
