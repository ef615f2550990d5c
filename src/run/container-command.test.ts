import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { ImageDetails } from "../docker/engine.js";
import { DockerError } from "../runtime/errors.js";
import { containerArgv, PRELUDE } from "./container-command.js";

const image: ImageDetails = {
  id: "sha256:x",
  entrypoint: ["/entry", "-v"],
  cmd: ["serve", "--port", "80"],
  user: "",
};
const noEntry: ImageDetails = { ...image, entrypoint: [] };

describe("containerArgv (the engine's entrypoint/CMD rules)", () => {
  it("runs the image's entrypoint with its CMD, or with the given command instead", () => {
    expect(containerArgv(image, { image: "i", entrypoint: undefined, command: [] })).toEqual([
      "/entry",
      "-v",
      "serve",
      "--port",
      "80",
    ]);
    expect(containerArgv(image, { image: "i", entrypoint: undefined, command: ["aws", "s3", "ls"] })).toEqual(
      ["/entry", "-v", "aws", "s3", "ls"],
    );
    expect(containerArgv(noEntry, { image: "i", entrypoint: undefined, command: [] })).toEqual([
      "serve",
      "--port",
      "80",
    ]);
  });

  it("drops the image's entrypoint and CMD when --entrypoint is given, even empty", () => {
    expect(containerArgv(image, { image: "i", entrypoint: "/bin/app", command: [] })).toEqual(["/bin/app"]);
    expect(containerArgv(image, { image: "i", entrypoint: "/bin/app", command: ["x"] })).toEqual([
      "/bin/app",
      "x",
    ]);
    expect(containerArgv(image, { image: "i", entrypoint: "", command: ["id"] })).toEqual(["id"]);
  });

  it("refuses a run with nothing to execute, as docker does", () => {
    expect(() => containerArgv(image, { image: "i", entrypoint: "", command: [] })).toThrow(DockerError);
    expect(() =>
      containerArgv(
        { ...image, entrypoint: [], cmd: [] },
        { image: "i", entrypoint: undefined, command: [] },
      ),
    ).toThrow("Image i has no command to run.");
  });
});

describe("PRELUDE", () => {
  it("writes both files verbatim, then execs the command with its arguments intact", async () => {
    const dir = await mkdtemp(join(tmpdir(), "prelude-"));
    try {
      const script = PRELUDE.replace(/d=\/run\/sso-docker/, `d=${dir}`);
      const config = "# stamp\n[profile a%b]\ncredential_process = x 'y'\n";
      const helper = '#!/bin/sh\necho "$1"\n';
      const { stdout } = await promisify(execFile)("/bin/sh", [
        "-c",
        script,
        "sso-docker",
        config,
        helper,
        "/bin/sh",
        "-c",
        'printf "%s|" "$0" "$@"',
        "zero",
        "a b",
        "",
      ]);
      expect(stdout).toBe("zero|a b||");
      expect(await readFile(join(dir, "config"), "utf8")).toBe(config);
      expect(await readFile(join(dir, "credential-process"), "utf8")).toBe(helper);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
