import { describe, expect, it } from "vitest";
import { describeEngineVersion, isPodman, toEngineVersion } from "./engine-version.js";

// Trimmed from what dockerd 20.10 and Podman 4.3 answer to GET /version on this machine.
const DOCKER = {
  Components: [
    { Name: "Engine", Version: "20.10.24+dfsg1" },
    { Name: "containerd", Version: "1.6.20~ds1" },
  ],
  Version: "20.10.24+dfsg1",
  ApiVersion: "1.41",
};
const PODMAN = {
  Components: [
    { Name: "Podman Engine", Version: "4.3.1" },
    { Name: "Conmon", Version: "conmon version 2.1.6, commit: unknown" },
  ],
  Version: "4.3.1",
  ApiVersion: "1.41",
};

describe("toEngineVersion", () => {
  it("tells Docker from Podman by the engine component", () => {
    expect(toEngineVersion(DOCKER)).toEqual({
      product: "Docker",
      version: "20.10.24+dfsg1",
      apiVersion: "1.41",
    });
    expect(toEngineVersion(PODMAN)).toEqual({ product: "Podman", version: "4.3.1", apiVersion: "1.41" });
    expect(isPodman(toEngineVersion(PODMAN))).toBe(true);
    expect(isPodman(toEngineVersion(DOCKER))).toBe(false);
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
