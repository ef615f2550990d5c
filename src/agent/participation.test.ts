import { describe, expect, it } from "vitest";
import type { ParticipationRule } from "./participation.js";
import { DEFAULT_RULES, parseProfileList, participationOf } from "./participation.js";

describe("participation", () => {
  it("reads the label, first profile first, trimmed and without repeats", () => {
    expect(participationOf({ labels: { "sso-docker.profiles": " dev, ops,,dev " }, env: {} })).toEqual({
      profiles: ["dev", "ops"],
      source: "label",
    });
  });

  it("reads SSO_DOCKER_PROFILES from the container config", () => {
    expect(participationOf({ labels: {}, env: { SSO_DOCKER_PROFILES: "dev.admin" } })).toEqual({
      profiles: ["dev.admin"],
      source: "env",
    });
  });

  it("prefers the label over the env and takes the user override label", () => {
    const container = {
      labels: { "sso-docker.profiles": "a", "sso-docker.user": "dev" },
      env: { SSO_DOCKER_PROFILES: "b" },
    };
    expect(participationOf(container)).toEqual({ profiles: ["a"], user: "dev", source: "label" });
  });

  it("leaves containers that did not opt in (or named no profile) alone", () => {
    expect(participationOf({ labels: { other: "x" }, env: { PATH: "/bin" } })).toBeUndefined();
    expect(participationOf({ labels: { "sso-docker.profiles": " , " }, env: {} })).toBeUndefined();
  });

  it("takes more rules (the Dev Container extension point)", () => {
    const devcontainer: ParticipationRule = (c) =>
      c.labels["devcontainer.local_folder"] ? { profiles: ["default"], source: "devcontainer" } : undefined;
    const container = { labels: { "devcontainer.local_folder": "/src" }, env: {} };
    expect(participationOf(container)).toBeUndefined();
    expect(participationOf(container, [...DEFAULT_RULES, devcontainer])?.source).toBe("devcontainer");
  });

  it("parses lists", () => {
    expect(parseProfileList("")).toEqual([]);
    expect(parseProfileList("x")).toEqual(["x"]);
  });
});
