import { describe, expect, it } from "vitest";
import type { ContainerDetails } from "../docker/engine.js";
import { createDeps } from "../runtime/deps.js";
import { fakeEngine } from "../../test/support/fake-engine.js";
import { keepSynced, type Fetched } from "./run-container.js";

// keepSynced against a fake engine; the real-engine runs are test/run-*.test.ts.
const running: ContainerDetails = {
  id: "c0ffee",
  name: "quick",
  image: "img",
  user: "",
  env: { AWS_CONFIG_FILE: "/run/sso-docker/etc/config" },
  labels: {},
  running: true,
  paused: false,
  ipcMode: "private",
  tmpfsTargets: ["/run/sso-docker"],
  readOnlyMounts: ["/run/sso-docker/etc"],
};

const first: Fetched = {
  profiles: [
    {
      name: "dev",
      credentials: {
        accessKeyId: "ASIAEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        sessionToken: "IQoJb3JpZ2luX2VjEXAMPLETOKEN==",
        expiration: new Date(Date.now() + 3600_000),
      },
    },
  ],
  refreshAt: Date.now() + 2400_000,
};

describe("keepSynced", () => {
  it("a container that ends during its first push (exec killed, state still running) is not an error", async () => {
    const engine = fakeEngine({
      inspectContainer: () => Promise.resolve(running),
      exec: () => Promise.resolve({ exitCode: 137, stdout: "", stderr: "" }),
    });
    const outcome = await keepSynced({
      deps: createDeps({}),
      engine,
      started: Promise.resolve(running.id),
      initial: Promise.resolve(first),
      refresh: () => Promise.reject(new Error("no refresh expected")),
      signal: new AbortController().signal,
      // Spawned (docker kill) only after a failed push: not found, it does nothing here.
      docker: "/nonexistent/docker",
      once: true,
    });
    expect(outcome).toEqual({ containerId: running.id });
  });
});
