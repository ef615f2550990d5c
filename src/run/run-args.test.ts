import { describe, expect, it } from "vitest";
import { parseRunArgs } from "./run-args.js";

describe("parseRunArgs", () => {
  it("finds the image after flags with and without values, and keeps docker's options as given", () => {
    const args = parseRunArgs([
      "--profile",
      "dev",
      "-it",
      "--rm",
      "-e",
      "A=1",
      "--name=box",
      "--network",
      "host",
      "-p8080:80",
      "--profile=prod",
      "img:1",
      "aws",
      "--profile",
      "x",
    ]);
    expect(args.profiles).toEqual(["dev", "prod"]);
    expect(args.options).toEqual([
      "-it",
      "--rm",
      "-e",
      "A=1",
      "--name=box",
      "--network",
      "host",
      "-p8080:80",
    ]);
    expect(args.image).toBe("img:1");
    expect(args.command).toEqual(["aws", "--profile", "x"]);
    expect(args.detach).toBe(false);
  });

  it("sees -d in a cluster and leaves --detach-keys and --sig-proxy to docker run", () => {
    const args = parseRunArgs([
      "-dit",
      "--detach-keys",
      "ctrl-x",
      "--sig-proxy=false",
      "-u",
      "1000:1000",
      "img",
    ]);
    expect(args.detach).toBe(true);
    expect(args.options).toEqual(["-dit", "--detach-keys", "ctrl-x", "--sig-proxy=false", "-u", "1000:1000"]);
  });

  it("takes --pull out (sso-docker pulls first), keeps --entrypoint and --platform for docker", () => {
    const args = parseRunArgs(["--entrypoint", "", "--pull=never", "--platform", "linux/amd64", "img", "x"]);
    expect(args).toMatchObject({ pull: "never", platform: "linux/amd64" });
    expect(args.options).toEqual(["--entrypoint", "", "--platform", "linux/amd64"]);
    expect(parseRunArgs(["--entrypoint=/bin/app", "img"]).options).toEqual(["--entrypoint=/bin/app"]);
    expect(parseRunArgs(["img"])).toMatchObject({ pull: "missing" });
    expect(() => parseRunArgs(["--pull", "sometimes", "img"])).toThrow(/--pull must be one of/);
  });

  it("handles a cluster ending in a value flag and `--`", () => {
    expect(parseRunArgs(["-ite", "X=1", "img"]).options).toEqual(["-ite", "X=1"]);
    expect(parseRunArgs(["-eX=1", "img"]).options).toEqual(["-eX=1"]);
    const dashed = parseRunArgs(["--rm", "--", "img", "-x"]);
    expect([dashed.image, dashed.command]).toEqual(["img", ["-x"]]);
  });

  it("asks for an image when there is none, unless help was asked for", () => {
    expect(() => parseRunArgs(["--rm", "-e", "A=1"])).toThrow(/needs an image/);
    expect(parseRunArgs(["--rm", "--help"]).help).toBe(true);
    expect(parseRunArgs(["-h"]).help).toBe(true);
  });
});
