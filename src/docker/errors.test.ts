import { describe, expect, it } from "vitest";
import { DockerError } from "../runtime/errors.js";
import { toDockerError } from "./errors.js";

const host = "unix:///var/run/docker.sock";
// Messages deliberately misleading: classification must use statusCode / code only.
const httpError = (statusCode: number) => Object.assign(new Error("no such container"), { statusCode });
const sysError = (code: string) => Object.assign(new Error("HTTP 404"), { code });

describe("toDockerError", () => {
  it("maps 404 to no such container, with docker ps as the next step", () => {
    const error = toDockerError(httpError(404), { host, container: "web" });
    expect(error).toBeInstanceOf(DockerError);
    expect(error.message).toBe("No such container: web.");
    expect(error.hint).toMatch(/docker ps -a/);
    expect(error.cause).toBeInstanceOf(Error);
  });
  it("maps 409 to not running", () => {
    expect(toDockerError(httpError(409), { host, container: "web" }).message).toMatch(/web is not running/);
  });
  it("maps socket failures to an unreachable engine, naming it", () => {
    for (const code of ["ECONNREFUSED", "ENOENT"]) {
      const error = toDockerError(sysError(code), { host, container: "web" });
      expect(error.message).toBe(`Cannot reach the Docker engine at ${host}.`);
      expect(error.hint).toMatch(/docker info/);
    }
    expect(toDockerError(sysError("EACCES"), { host }).hint).toMatch(/docker. group/);
  });
  it("does not trust the message text", () => {
    const error = toDockerError(new Error("(HTTP code 404) no such container"), { host, container: "web" });
    expect(error.message).not.toMatch(/No such container/);
    expect(error.message).toMatch(/failed to talk to container web/);
  });
  it("keeps an existing DockerError as is", () => {
    const original = new DockerError("x");
    expect(toDockerError(original, { host })).toBe(original);
  });
});
