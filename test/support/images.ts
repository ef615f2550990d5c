import { fileURLToPath } from "node:url";
import { execa } from "execa";

/** Tags of the offline-built test images every real-engine suite may use (see docker/build-test-images.sh). */
export interface TestImages {
  /** Busybox only, user `dev` (uid 1000): for delivery tests that need no AWS client. */
  busybox: string;
  /** No shell at all (busybox as /sleep), like distroless or scratch. */
  noShell: string;
  /** Debian bookworm with AWS CLI v2, boto3 and the JS SDK v3 on Node 24, user `dev` (uid 1000). */
  debianAws: string;
}

const buildScript = fileURLToPath(new URL("../../docker/build-test-images.sh", import.meta.url));

/** A cold build (debootstrap) takes ~3 minutes: give the `beforeAll` that calls `ensureTestImages` this. */
export const IMAGE_BUILD_TIMEOUT_MS = 15 * 60_000;

let images: Promise<TestImages> | undefined;
let sshdImage: Promise<string> | undefined;

/**
 * The test images, built first if missing. Returns at once when the tags exist: the tags are
 * hashes of the recipes, computed without building, and checked with one `docker image inspect`.
 * Building needs root (debootstrap); concurrent callers wait on the script's lock.
 */
export function ensureTestImages(): Promise<TestImages> {
  images ??= findOrBuild(["--no-sshd"]).then((tags) => ({
    busybox: tagOf(tags, "busybox"),
    noShell: tagOf(tags, "no-shell"),
    debianAws: tagOf(tags, "debian-aws"),
  }));
  return images;
}

/**
 * debian-sshd: debian-aws with OpenSSH's server and passwordless sudo for `dev`, a stand-in for a
 * codespace (test/support/fake-platform.ts). Only the suites that need it build it: its build
 * downloads packages with the host's apt-get.
 */
export function ensureSshdImage(): Promise<string> {
  sshdImage ??= findOrBuild([]).then((tags) => tagOf(tags, "debian-sshd"));
  return sshdImage;
}

/** The images `build-test-images.sh` makes with `options`, built if any is missing. */
async function findOrBuild(options: readonly string[]): Promise<Map<string, string>> {
  const wanted = parseTags((await execa("sh", [buildScript, "--print-tags", ...options])).stdout);
  const present = await execa("docker", ["image", "inspect", "--format", "{{.Id}}", ...wanted.values()], {
    reject: false,
  });
  if (present.exitCode === 0) return wanted;
  // Build progress goes to the terminal: a cold build is slow and its failures need the log.
  const built = await execa("sh", [buildScript, ...options], { stderr: "inherit" });
  return parseTags(built.stdout);
}

function parseTags(output: string): Map<string, string> {
  return new Map(
    output
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => {
        const at = line.indexOf("=");
        return [line.slice(0, at), line.slice(at + 1).trim()] as const;
      }),
  );
}

function tagOf(tags: Map<string, string>, name: string): string {
  const tag = tags.get(name);
  if (tag === undefined) {
    throw new Error(`${buildScript} printed no ${name}= tag, only: ${[...tags.keys()].join(", ")}`);
  }
  return tag;
}
