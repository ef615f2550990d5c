import { describe, expect, it } from "vitest";
import { parseRunArgs } from "./run-args.js";

describe("parseRunArgs", () => {
  it("finds the image after flags with and without values, and keeps docker's options untouched", () => {
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
    expect(args.createOptions).toEqual([
      "-it",
      "--rm",
      "-e",
      "A=1",
      "--name=box",
      "--network",
      "host",
      "-p",
      "8080:80",
    ]);
    expect(args.imageAndCommand).toEqual(["img:1", "aws", "--profile", "x"]);
    expect(args.interactive).toBe(true);
    expect(args.detach).toBe(false);
  });

  it("takes -d, --detach-keys and --sig-proxy out for docker start", () => {
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
    expect(args.detachKeys).toBe("ctrl-x");
    expect(args.sigProxy).toBe(false);
    expect(args.createOptions).toEqual(["-it", "-u", "1000:1000"]);
  });

  it("handles a cluster ending in a value flag and `--`", () => {
    expect(parseRunArgs(["-ite", "X=1", "img"]).createOptions).toEqual(["-it", "-e", "X=1"]);
    expect(parseRunArgs(["--rm", "--", "img", "-x"]).imageAndCommand).toEqual(["img", "-x"]);
  });

  it("asks for an image when there is none", () => {
    expect(() => parseRunArgs(["--rm", "-e", "A=1"])).toThrow(/needs an image/);
  });
});
