import { describe, expect, it } from "vitest";
import type { ContainerDetails, DockerEngine, ExecRequest, ExecResult } from "../docker/engine.js";
import { silentLogger, type Logger } from "../runtime/logger.js";
import { metadataRemoteUser, readFeatureParticipation, resolveParticipation } from "./devcontainer.js";
import { DEFAULT_RULES } from "./participation.js";
import { fakeEngine } from "../../test/support/fake-engine.js";

const METADATA = JSON.stringify([{ id: "./sso-docker" }, { remoteUser: "root" }, { remoteUser: "dev" }]);

function container(overrides: Partial<ContainerDetails> = {}): ContainerDetails {
  return {
    id: "c1",
    name: "dc",
    image: "vsc-x",
    user: "root",
    env: { SSO_DOCKER_FEATURE: "1" },
    labels: { "devcontainer.metadata": METADATA, "devcontainer.local_folder": "/src" },
    running: true,
    paused: false,
    ipcMode: "private",
    tmpfsTargets: [],
    readOnlyMounts: [],
    ...overrides,
  };
}

function engineAnswering(result: ExecResult): DockerEngine & { requests: ExecRequest[] } {
  const requests: ExecRequest[] = [];
  const exec = (_id: string, request: ExecRequest) => {
    requests.push(request);
    return Promise.resolve(result);
  };
  return { ...fakeEngine({ exec }), requests };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (m) => warnings.push(m) };
}

describe("metadataRemoteUser", () => {
  it("takes the last remoteUser of the merged metadata, as the Dev Containers CLI does", () => {
    expect(metadataRemoteUser({ "devcontainer.metadata": METADATA })).toBe("dev");
    expect(metadataRemoteUser({ "devcontainer.metadata": '{"remoteUser":"vscode"}' })).toBe("vscode");
    expect(metadataRemoteUser({ "devcontainer.metadata": "not json" })).toBeUndefined();
    expect(metadataRemoteUser({})).toBeUndefined();
  });
});

describe("readFeatureParticipation", () => {
  it("reads both files as root in one exec: profiles in order, then the owner", async () => {
    const engine = engineAnswering({ exitCode: 0, stdout: "dev.admin\nteam@corp\n\napp\n", stderr: "" });
    const participation = await readFeatureParticipation(engine, container());
    expect(participation).toEqual({
      profiles: ["dev.admin", "team@corp"],
      user: "app",
      source: "devcontainer-feature",
    });
    expect(engine.requests).toEqual([
      { cmd: ["cat", "/etc/sso-docker/profiles", "/etc/sso-docker/user"], user: "0:0" },
    ]);
  });

  it("lets the sso-docker.user label override the file, and falls back to remoteUser", async () => {
    const engine = engineAnswering({ exitCode: 0, stdout: "dev\n\n", stderr: "" });
    expect((await readFeatureParticipation(engine, container())).user).toBe("dev");
    const labelled = container({ labels: { "sso-docker.user": "ops", "devcontainer.metadata": METADATA } });
    expect((await readFeatureParticipation(engine, labelled)).user).toBe("ops");
  });

  it("names the container when the files are missing or hold a bad name", async () => {
    const missing = engineAnswering({
      exitCode: 1,
      stdout: "",
      stderr: "cat: can't open '/etc/sso-docker/profiles'",
    });
    await expect(readFeatureParticipation(missing, container())).rejects.toThrow(
      /container dc has SSO_DOCKER_FEATURE=1 but no readable \/etc\/sso-docker\/profiles/,
    );
    const bad = engineAnswering({ exitCode: 0, stdout: "dev ops\ndev\n", stderr: "" });
    await expect(readFeatureParticipation(bad, container())).rejects.toThrow(/Profile name "dev ops"/);
  });
});

describe("resolveParticipation", () => {
  it("prefers the label and env rules, giving a Dev Container's remote user the files", async () => {
    const engine = engineAnswering({ exitCode: 0, stdout: "from-file\ndev\n", stderr: "" });
    const byEnv = container({ env: { SSO_DOCKER_FEATURE: "1", SSO_DOCKER_PROFILES: "a,b" } });
    expect(await resolveParticipation(engine, byEnv, DEFAULT_RULES, { logger: silentLogger })).toEqual({
      profiles: ["a", "b"],
      user: "dev",
      source: "env",
    });
    expect(engine.requests).toHaveLength(0);
  });

  it("reads the Feature's files only from a running container that carries the marker", async () => {
    const engine = engineAnswering({ exitCode: 0, stdout: "x\ndev\n", stderr: "" });
    const options = { logger: silentLogger };
    expect(
      await resolveParticipation(engine, container({ env: {} }), DEFAULT_RULES, options),
    ).toBeUndefined();
    expect(
      await resolveParticipation(engine, container({ running: false }), DEFAULT_RULES, options),
    ).toBeUndefined();
    expect(engine.requests).toHaveLength(0);
    expect((await resolveParticipation(engine, container(), DEFAULT_RULES, options))?.profiles).toEqual([
      "x",
    ]);
  });

  it("warns and leaves the container alone when the files cannot be read", async () => {
    const engine = engineAnswering({ exitCode: 1, stdout: "", stderr: "No such file" });
    const logger = recordingLogger();
    expect(await resolveParticipation(engine, container(), DEFAULT_RULES, { logger })).toBeUndefined();
    expect(logger.warnings).toEqual([expect.stringContaining("rebuild it with the sso-docker Feature")]);
  });
});
