import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DockerError } from "../runtime/errors.js";
import { locateEngine, toEngineEndpoint } from "./engine-options.js";

const home = "/home/u";
const metaPath = (name: string) =>
  `${home}/.docker/contexts/meta/${createHash("sha256").update(name).digest("hex")}/meta.json`;

/** A fake ~/.docker: current context "remote", plus contexts "remote" and "other". */
function files(current = "remote"): (path: string) => string {
  const tree: Record<string, string> = {
    [`${home}/.docker/config.json`]: JSON.stringify({ currentContext: current }),
    [metaPath("remote")]: JSON.stringify({
      Name: "remote",
      Endpoints: { docker: { Host: "ssh://me@build-box" } },
    }),
    [metaPath("other")]: JSON.stringify({
      Name: "other",
      Endpoints: { docker: { Host: "tcp://10.0.0.2:2375" } },
    }),
  };
  return (path) => {
    const text = tree[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: "ENOENT" });
    return text;
  };
}

describe("locateEngine", () => {
  it("uses the default socket with no env and no docker config", () => {
    expect(locateEngine({ env: {}, home, readFile: files("") })).toEqual({
      host: "unix:///var/run/docker.sock",
      source: "default",
    });
  });
  it("prefers DOCKER_HOST over the current context", () => {
    const env = { DOCKER_HOST: "tcp://1.2.3.4:2375" };
    expect(locateEngine({ env, home, readFile: files() }).host).toBe("tcp://1.2.3.4:2375");
  });
  it("follows the CLI's current context, then DOCKER_CONTEXT, then an explicit context", () => {
    expect(locateEngine({ env: {}, home, readFile: files() })).toEqual({
      host: "ssh://me@build-box",
      source: "context remote",
    });
    expect(locateEngine({ env: { DOCKER_CONTEXT: "other" }, home, readFile: files() }).host).toBe(
      "tcp://10.0.0.2:2375",
    );
    const env = { DOCKER_HOST: "unix:///x.sock", DOCKER_CONTEXT: "remote" };
    expect(locateEngine({ env, home, context: "other", readFile: files() }).host).toBe("tcp://10.0.0.2:2375");
  });
  it("treats the context named default as DOCKER_HOST or the default socket", () => {
    expect(locateEngine({ env: {}, home, context: "default", readFile: files() }).host).toBe(
      "unix:///var/run/docker.sock",
    );
  });
  it("names a missing context and the command to list them", () => {
    const error = (() => {
      try {
        locateEngine({ env: { DOCKER_CONTEXT: "gone" }, home, readFile: files() });
      } catch (e) {
        return e as DockerError;
      }
    })();
    expect(error).toBeInstanceOf(DockerError);
    expect(error?.message).toMatch(/context "gone"/);
    expect(error?.hint).toMatch(/docker context ls/);
  });
});

describe("toEngineEndpoint", () => {
  it("maps unix, tcp and ssh addresses", () => {
    expect(toEngineEndpoint({ host: "unix:///run/user/1000/docker.sock", source: "x" })).toEqual({
      kind: "unix",
      socketPath: "/run/user/1000/docker.sock",
    });
    expect(toEngineEndpoint({ host: "tcp://10.0.0.2:2375", source: "x" })).toEqual({
      kind: "tcp",
      host: "10.0.0.2",
      port: 2375,
    });
    expect(toEngineEndpoint({ host: "tcp://10.0.0.2:2376", source: "x" })).toEqual({
      kind: "tcp",
      host: "10.0.0.2",
      port: 2376,
      tls: {},
    });
    expect(toEngineEndpoint({ host: "ssh://me@box:2222", source: "x" })).toEqual({
      kind: "ssh",
      ssh: { address: "ssh://me@box:2222", host: "box", user: "me", port: "2222" },
    });
  });
  it("rejects addresses it cannot use, naming them", () => {
    expect(() => toEngineEndpoint({ host: "fd://", source: "DOCKER_HOST" })).toThrow(/fd:\/\/.*DOCKER_HOST/);
  });
});

describe("locateEngine on Windows", () => {
  const profile = "C:\\Users\\me";
  const winMeta = (dir: string, name: string) =>
    `${dir}\\contexts\\meta\\${createHash("sha256").update(name).digest("hex")}\\meta.json`;
  /** A fake %USERPROFILE%\.docker (or DOCKER_CONFIG) as Docker Desktop for Windows leaves it. */
  function windowsFiles(dir: string, config: object | undefined): (path: string) => string {
    const tree: Record<string, string> = {
      [winMeta(dir, "desktop-linux")]: JSON.stringify({
        Name: "desktop-linux",
        Metadata: { Description: "Docker Desktop" },
        Endpoints: { docker: { Host: "npipe:////./pipe/dockerDesktopLinuxEngine", SkipTLSVerify: false } },
      }),
    };
    if (config !== undefined) tree[`${dir}\\config.json`] = JSON.stringify(config);
    return (path) => {
      const text = tree[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: "ENOENT" });
      return text;
    };
  }

  it("defaults to the docker_engine named pipe, not a unix socket", () => {
    const located = locateEngine({
      env: {},
      home: profile,
      platform: "win32",
      readFile: windowsFiles(profile, undefined),
    });
    expect(located).toEqual({ host: "npipe:////./pipe/docker_engine", source: "default" });
    expect(toEngineEndpoint(located, "win32")).toEqual({
      kind: "unix",
      socketPath: "\\\\.\\pipe\\docker_engine",
    });
  });
  it("follows the current context of %USERPROFILE%\\.docker\\config.json to its pipe", () => {
    const dir = `${profile}\\.docker`;
    const located = locateEngine({
      env: {},
      home: profile,
      platform: "win32",
      readFile: windowsFiles(dir, { auths: {}, currentContext: "desktop-linux" }),
    });
    expect(located).toEqual({
      host: "npipe:////./pipe/dockerDesktopLinuxEngine",
      source: "context desktop-linux",
    });
    expect(toEngineEndpoint(located, "win32")).toEqual({
      kind: "unix",
      socketPath: "\\\\.\\pipe\\dockerDesktopLinuxEngine",
    });
  });
  it("reads DOCKER_CONFIG instead of the profile's .docker, and DOCKER_CONTEXT over its currentContext", () => {
    const dir = "D:\\docker-config";
    const env = { DOCKER_CONFIG: dir };
    const read = windowsFiles(dir, { currentContext: "desktop-linux" });
    expect(locateEngine({ env, home: profile, platform: "win32", readFile: read }).source).toBe(
      "context desktop-linux",
    );
    expect(
      locateEngine({
        env: { ...env, DOCKER_CONTEXT: "default" },
        home: profile,
        platform: "win32",
        readFile: read,
      }),
    ).toEqual({ host: "npipe:////./pipe/docker_engine", source: "default" });
  });
  it("lets DOCKER_HOST win, and the default context mean DOCKER_HOST or the pipe", () => {
    const read = windowsFiles(`${profile}\\.docker`, { currentContext: "desktop-linux" });
    const env = { DOCKER_HOST: "tcp://127.0.0.1:2375" };
    expect(locateEngine({ env, home: profile, platform: "win32", readFile: read }).host).toBe(
      "tcp://127.0.0.1:2375",
    );
    expect(
      locateEngine({ env: {}, home: profile, context: "default", platform: "win32", readFile: read }).host,
    ).toBe("npipe:////./pipe/docker_engine");
  });
});

describe("toEngineEndpoint with named pipes", () => {
  const at = (host: string) => toEngineEndpoint({ host, source: "DOCKER_HOST" }, "win32");
  it("turns npipe:// addresses into the \\\\.\\pipe\\ paths node:net opens; a bare npipe:// is the default pipe", () => {
    expect(at("npipe://")).toEqual({ kind: "unix", socketPath: "\\\\.\\pipe\\docker_engine" });
    expect(at("npipe:////./pipe/docker_engine")).toEqual({
      kind: "unix",
      socketPath: "\\\\.\\pipe\\docker_engine",
    });
    expect(at("npipe:////./pipe/podman-machine-default")).toEqual({
      kind: "unix",
      socketPath: "\\\\.\\pipe\\podman-machine-default",
    });
  });
  it("refuses what is no pipe, and pipes on other systems, naming the address", () => {
    expect(() => at("npipe:////./docker_engine")).toThrow(
      /npipe:\/\/\/\/\.\/docker_engine.*DOCKER_HOST.*not a named pipe/,
    );
    expect(() => at("npipe:////server/pipe/x/../y")).toThrow(/not a named pipe/);
    expect(() => toEngineEndpoint({ host: "npipe://", source: "context x" }, "linux")).toThrow(
      /"npipe:\/\/" \(context x\) is a Windows named pipe/,
    );
  });
});
