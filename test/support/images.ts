import { fileURLToPath } from "node:url";
import { execa } from "execa";

/** Tags of the offline-built test images (see docker/build-test-images.sh). */
export interface TestImages {
  /** Busybox only, user `dev` (uid 1000): for delivery tests that need no AWS client. */
  busybox: string;
  /** No shell at all (busybox as /sleep), like distroless or scratch. */
  noShell: string;
  /** Debian bookworm with AWS CLI v2, boto3 and the JS SDK v3 on Node 24, user `dev` (uid 1000). */
  debianAws: string;
  /** debian-aws with OpenSSH's server and passwordless sudo for `dev`: a stand-in for a codespace. */
  debianSshd: string;
}

const buildScript = fileURLToPath(new URL("../../docker/build-test-images.sh", import.meta.url));

/** A cold build (debootstrap) takes ~3 minutes: give the `beforeAll` that calls `ensureTestImages` this. */
export const IMAGE_BUILD_TIMEOUT_MS = 15 * 60_000;

let images: Promise<TestImages> | undefined;

/**
 * The test images, built first if missing. Returns at once when the tags exist: the tags are
 * hashes of the recipes, computed without building, and checked with one `docker image inspect`.
 * Building needs root (debootstrap); concurrent callers wait on the script's lock.
 */
export function ensureTestImages(): Promise<TestImages> {
  images ??= findOrBuildImages();
  return images;
}

async function findOrBuildImages(): Promise<TestImages> {
  const wanted = parseTags((await execa("sh", [buildScript, "--print-tags"])).stdout);
  const present = await execa(
    "docker",
    [
      "image",
      "inspect",
      "--format",
      "{{.Id}}",
      wanted.busybox,
      wanted.noShell,
      wanted.debianAws,
      wanted.debianSshd,
    ],
    {
      reject: false,
    },
  );
  if (present.exitCode === 0) return wanted;
  // Build progress goes to the terminal: a cold build is slow and its failures need the log.
  const built = await execa("sh", [buildScript], { stderr: "inherit" });
  return parseTags(built.stdout);
}

function parseTags(output: string): TestImages {
  const tags = new Map(
    output
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => {
        const at = line.indexOf("=");
        return [line.slice(0, at), line.slice(at + 1).trim()] as const;
      }),
  );
  const busybox = tags.get("busybox");
  const noShell = tags.get("no-shell");
  const debianAws = tags.get("debian-aws");
  const debianSshd = tags.get("debian-sshd");
  if (busybox === undefined || noShell === undefined || debianAws === undefined || debianSshd === undefined) {
    throw new Error(
      `${buildScript} printed no busybox= / no-shell= / debian-aws= / debian-sshd= tags:\n${output}`,
    );
  }
  return { busybox, noShell, debianAws, debianSshd };
}
