import { beforeAll, describe, expect, it } from "vitest";
import { runInImage, sweepTestContainersAfterAll } from "./support/docker.js";
import type { TestImages } from "./support/images.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";

sweepTestContainersAfterAll();

let images: TestImages;
beforeAll(async () => {
  images = await ensureTestImages();
}, IMAGE_BUILD_TIMEOUT_MS);

/** Runs a shell snippet in the image as `dev` from /tmp, asserting it succeeds; returns stdout. */
async function shAsDev(image: string, script: string): Promise<string> {
  const result = await runInImage(image, ["sh", "-c", script], { user: "dev", args: ["--workdir", "/tmp"] });
  expect(result, result.stderr).toMatchObject({ exitCode: 0 });
  return result.stdout.trim();
}

describe("the debian-aws image", () => {
  it("has the real AWS CLI v2", async () => {
    expect(await shAsDev(images.debianAws, "aws --version")).toMatch(/^aws-cli\/2\.\d+\.\d+ Python\/3\./);
  });

  it("has boto3", async () => {
    expect(await shAsDev(images.debianAws, "python3 -c 'import boto3; print(boto3.__version__)'")).toMatch(
      /^1\.\d+\.\d+$/,
    );
  });

  it("has the AWS JS SDK v3 on Node >= 20, requireable from any directory", async () => {
    const script = `node -e '
      const { STSClient } = require("@aws-sdk/client-sts");
      const { fromIni } = require("@aws-sdk/credential-providers");
      console.log(typeof STSClient, typeof fromIni, process.versions.node);'`;
    const [stsClient, fromIni, version] = (await shAsDev(images.debianAws, script)).split(" ");
    expect([stsClient, fromIni]).toEqual(["function", "function"]);
    expect(Number(version?.split(".")[0])).toBeGreaterThanOrEqual(20);
  });

  it("runs as dev (uid 1000) with a writable home", async () => {
    expect(await shAsDev(images.debianAws, 'id -u; id -un; echo "$HOME"; touch ~/probe && echo ok')).toBe(
      "1000\ndev\n/home/dev\nok",
    );
  });

  it("has a tmpfs at /dev/shm", async () => {
    expect(await shAsDev(images.debianAws, "awk '$2 == \"/dev/shm\" { print $3 }' /proc/mounts")).toBe(
      "tmpfs",
    );
  });
});

describe("the busybox image", () => {
  it("runs as dev (uid 1000) with a writable home", async () => {
    expect(await shAsDev(images.busybox, 'id -u; echo "$HOME"; touch ~/probe && echo ok')).toBe(
      "1000\n/home/dev\nok",
    );
  });
});
