import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerError } from "../runtime/errors.js";
import { becomeDocker, findOnPath } from "./exec-docker.js";

// How `sso-docker run` becomes docker, with stand-in executables; real runs: test/run-*.test.ts.

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sso-docker-exec-"));
  await writeFile(join(dir, "docker"), '#!/bin/sh\nexit "$2"\n');
  await chmod(join(dir, "docker"), 0o755);
  await writeFile(join(dir, "not-executable"), "#!/bin/sh\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

class Replaced extends Error {
  constructor(readonly call: unknown[]) {
    super("replaced");
  }
}

describe("becomeDocker", () => {
  it("replaces the process with docker found on PATH, argv[0] docker, the environment given", async () => {
    const env = { PATH: `/nonexistent:${dir}`, A: "1" };
    const replaced = becomeDocker(["run", "img"], {
      env,
      replace: (...call) => {
        throw new Replaced(call);
      },
    });
    await expect(replaced).rejects.toMatchObject({
      call: [join(dir, "docker"), ["docker", "run", "img"], env],
    });
  });

  it("refuses before replacing when PATH has no executable docker (execve would end Node)", async () => {
    const run = becomeDocker(["run"], {
      env: { PATH: dir },
      docker: "not-executable",
      replace: () => {
        throw new Error("must not be called");
      },
    });
    await expect(run).rejects.toThrow(DockerError);
  });

  it("without execve, runs docker as a child and returns its exit code", async () => {
    const code = await becomeDocker(["run", "7"], { env: { PATH: dir }, execve: false });
    expect(code).toBe(7);
  });
});

describe("findOnPath", () => {
  it("skips empty entries (the working directory) and files that are not executable", () => {
    expect(findOnPath("docker", { PATH: `:${dir}` })).toBe(join(dir, "docker"));
    expect(findOnPath("not-executable", { PATH: dir })).toBeUndefined();
    expect(findOnPath(join(dir, "docker"), { PATH: "" })).toBe(join(dir, "docker"));
  });
});
