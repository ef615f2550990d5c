import { describe, expect, it } from "vitest";
import { detachedSpawnOptions } from "./detach.js";

describe("detachedSpawnOptions", () => {
  it("starts the agent detached with no console window on Windows, output to its log, an IPC channel back", () => {
    const env = { PATH: "/bin", HOME: "/home/me" };
    const options = detachedSpawnOptions(7, env);
    expect(options).toEqual({
      detached: true,
      windowsHide: true,
      stdio: ["ignore", 7, 7, "ipc"],
      env: { PATH: "/bin", HOME: "/home/me" },
    });
    expect(options.env).not.toBe(env);
  });
});
