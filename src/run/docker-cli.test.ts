import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeEngine } from "../../test/support/fake-engine.js";
import type { EngineVersion } from "../docker/engine-version.js";
import { chooseDockerCli } from "./docker-cli.js";

// Which CLI `sso-docker run` becomes; with Podman for real: test/podman.test.ts.

let dir: string;
const PODMAN: EngineVersion = { product: "Podman", version: "4.3.1", apiVersion: "1.41" };
const DOCKER: EngineVersion = { product: "Docker", version: "20.10.24", apiVersion: "1.41" };
const SOCKET = "unix:///run/podman/podman.sock";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sso-docker-cli-"));
  await writeFile(join(dir, "podman"), "#!/bin/sh\n");
  await chmod(join(dir, "podman"), 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const engine = (version: EngineVersion | Error, host = SOCKET) =>
  fakeEngine({
    host,
    version: () => (version instanceof Error ? Promise.reject(version) : Promise.resolve(version)),
  });

describe("chooseDockerCli", () => {
  it("podman, pointed at the engine's socket, when the engine is Podman and podman is on PATH", async () => {
    expect(await chooseDockerCli(engine(PODMAN), { PATH: dir })).toEqual({
      command: "podman",
      globalArgs: ["--remote", "--url", SOCKET],
    });
  });

  it("docker for Docker, for Podman without a podman on PATH, and for an engine that does not answer", async () => {
    const docker = { command: "docker", globalArgs: [] };
    expect(await chooseDockerCli(engine(DOCKER), { PATH: dir })).toEqual(docker);
    expect(await chooseDockerCli(engine(PODMAN), { PATH: "/nonexistent" })).toEqual(docker);
    expect(await chooseDockerCli(engine(new Error("unreachable")), { PATH: dir })).toEqual(docker);
  });

  it("SSO_DOCKER_CLI wins without asking the engine; a podman there is pointed at the engine too", async () => {
    let asked = 0;
    const unasked = fakeEngine({
      host: SOCKET,
      version: () => {
        asked += 1;
        return Promise.resolve(DOCKER);
      },
    });
    expect(await chooseDockerCli(unasked, { SSO_DOCKER_CLI: "/opt/bin/docker" })).toEqual({
      command: "/opt/bin/docker",
      globalArgs: [],
    });
    expect(await chooseDockerCli(unasked, { SSO_DOCKER_CLI: "/usr/bin/podman" })).toEqual({
      command: "/usr/bin/podman",
      globalArgs: ["--remote", "--url", SOCKET],
    });
    expect(asked).toBe(0);
    expect(await chooseDockerCli(engine(PODMAN, "ssh://me@box"), { SSO_DOCKER_CLI: "podman" })).toEqual({
      command: "podman",
      globalArgs: [],
    });
  });
});
