import { describe, expect, it } from "vitest";
import { DockerError } from "../runtime/errors.js";
import { parseSshEndpoint, quotePosix, sshArguments } from "./ssh-endpoint.js";

const parse = (host: string) => parseSshEndpoint(new URL(host), { host, source: "DOCKER_HOST" });

function refusal(host: string): DockerError {
  try {
    parse(host);
  } catch (error) {
    return error as DockerError;
  }
  throw new Error(`${host} was accepted`);
}

describe("parseSshEndpoint", () => {
  it("passes on only what the URL names: an alias alone leaves user and port to ~/.ssh/config", () => {
    expect(parse("ssh://build-box")).toEqual({ address: "ssh://build-box", host: "build-box" });
    expect(parse("ssh://me@Box.Example:2222")).toEqual({
      address: "ssh://me@Box.Example:2222",
      host: "Box.Example",
      user: "me",
      port: "2222",
    });
    expect(parse("ssh://[::1]:22").host).toBe("::1");
    expect(parse("ssh://box/").socketPath).toBeUndefined();
    expect(parse("ssh://box/run/user/1000/docker.sock").socketPath).toBe("/run/user/1000/docker.sock");
  });

  it("refuses a host or user that ssh would read as an option, even %-escaped", () => {
    for (const host of ["ssh://-oProxyCommand=touch%20x", "ssh://%2DoProxyCommand=x", "ssh://-l@box"]) {
      const error = refusal(host);
      expect(error).toBeInstanceOf(DockerError);
      expect(error.message).toMatch(/starting with "-", which ssh would read as an option/);
      expect(error.message).toContain("(DOCKER_HOST)");
      expect(error.hint).toMatch(/ssh:\/\/\[user@\]host/);
    }
  });

  it("refuses whitespace and control characters, and what the docker CLI refuses", () => {
    expect(refusal("ssh://box%0a-oProxyCommand=x").message).toMatch(
      /whitespace or a control character in its host/,
    );
    expect(refusal("ssh://me%09x@box").message).toMatch(/in its user/);
    expect(refusal("ssh://box/a%0ab").message).toMatch(/control character in its socket path/);
    // The message quotes the address as foreign text: no raw control character reaches a terminal.
    expect(refusal("ssh://box%1b[2J").message).not.toContain("\u001b");
    expect(refusal("ssh://me:secret@box").message).toMatch(/carries a password/);
    expect(refusal("ssh://box?x=1").message).toMatch(/query or fragment/);
    expect(refusal("ssh://box%zz").message).toMatch(/malformed %-escape/);
  });
});

describe("sshArguments", () => {
  it("builds the docker CLI's own command line: fixed options, `--`, the host, one remote command", () => {
    expect(sshArguments(parse("ssh://build-box"))).toEqual([
      "-o",
      "ConnectTimeout=30",
      "-T",
      "--",
      "build-box",
      "docker system dial-stdio",
    ]);
    expect(sshArguments(parse("ssh://me@box:2222/run/my%20docker.sock"))).toEqual([
      "-l",
      "me",
      "-p",
      "2222",
      "-o",
      "ConnectTimeout=30",
      "-T",
      "--",
      "box",
      "docker '--host=unix:///run/my docker.sock' system dial-stdio",
    ]);
  });

  it("quotes a remote word so the remote shell keeps it one word", () => {
    expect(quotePosix("/run/docker.sock")).toBe("/run/docker.sock");
    expect(quotePosix("it's $(here)")).toBe(`'it'\\''s $(here)'`);
    expect(quotePosix("")).toBe("''");
  });
});
