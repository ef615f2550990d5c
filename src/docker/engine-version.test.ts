import { describe, expect, it } from "vitest";
import { describeEngineVersion, isPodman, toEngineVersion, type VersionInfo } from "./engine-version.js";

/** A `GET /version` answer: the engine's own component first, then a runtime it lists. */
const answer = (engine: string, version: string, runtime: string, runtimeVersion: string): VersionInfo => ({
  Components: [
    { Name: engine, Version: version },
    { Name: runtime, Version: runtimeVersion },
  ],
  Version: version,
  ApiVersion: "1.41",
});

// Trimmed from what dockerd 20.10 and Podman 4.3 answer to GET /version on this machine.
const DOCKER = answer("Engine", "20.10.24+dfsg1", "containerd", "1.6.20~ds1");
const PODMAN = answer("Podman Engine", "4.3.1", "Conmon", "conmon version 2.1.6, commit: unknown");

describe("toEngineVersion", () => {
  it.each([
    { info: DOCKER, product: "Docker", version: "20.10.24+dfsg1", podman: false },
    { info: PODMAN, product: "Podman", version: "4.3.1", podman: true },
  ])("tells $product by its engine component", ({ info, product, version, podman }) => {
    const engine = toEngineVersion(info);
    expect(engine).toEqual({ product, version, apiVersion: "1.41" });
    expect(isPodman(engine)).toBe(podman);
  });

  it("an answer without components is Docker; another engine keeps its own name", () => {
    expect(toEngineVersion({ Version: "1.13.1" }).product).toBe("Docker");
    expect(toEngineVersion({ Components: [{ Name: "Other", Version: "1" }], Version: "1" }).product).toBe(
      "Other",
    );
  });

  it("describes itself as product and version", () => {
    expect(describeEngineVersion(toEngineVersion(PODMAN))).toBe("Podman 4.3.1");
    expect(describeEngineVersion({ product: "Docker", version: "", apiVersion: "" })).toBe("Docker");
  });
});
