import { describe, expect, it } from "vitest";
import { parseSshUser, parseTarget, proxyCommand, stateQuery } from "./remote-target.js";
import { sshArguments } from "./ssh-transport.js";

describe("remote targets", () => {
  it("parses platform:name and refuses names a shell or ssh would read as more", () => {
    expect(parseTarget("codespace:fluffy-space-7x9")).toEqual({
      platform: "codespace",
      name: "fluffy-space-7x9",
    });
    expect(parseTarget("ssh:me@box.example")).toEqual({ platform: "ssh", name: "me@box.example" });
    for (const bad of [
      "codespace:x;id",
      "codespace:-oProxyCommand=id",
      "devpod:$(id)",
      "coder:a b",
      "ssh:x%h",
      "k8s:x",
      "nocolon",
    ]) {
      expect(() => parseTarget(bad), bad).toThrow();
    }
  });

  it("connects through the platform's --stdio command: devpod's starting no services and as the login user, coder's without autostart", () => {
    expect(proxyCommand({ platform: "codespace", name: "cs", user: "codespace" })).toBe(
      "gh codespace ssh -c cs --stdio",
    );
    expect(proxyCommand({ platform: "devpod", name: "ws" })).toBe(
      "devpod ssh --stdio --start-services=false ws",
    );
    expect(proxyCommand({ platform: "devpod", name: "ws", user: "vscode" })).toBe(
      "devpod ssh --stdio --start-services=false --user vscode ws",
    );
    expect(proxyCommand({ platform: "coder", name: "ws" })).toBe("coder ssh --stdio --disable-autostart ws");
    expect(proxyCommand({ platform: "ssh", name: "box" })).toBeUndefined();
  });

  it("refuses a login user that a shell or a CLI would read as more", () => {
    expect(parseSshUser("vscode")).toBe("vscode");
    for (const bad of ["-oProxyCommand=id", "a b", "x;id", "$(id)", "u%h", ""]) {
      expect(() => parseSshUser(bad), bad).toThrow(/is not a user name/);
      expect(() => proxyCommand({ platform: "devpod", name: "ws", user: bad }), bad).toThrow();
    }
  });

  it("reads each platform's state answer; anything unexpected is unknown, never available", () => {
    const gh = stateQuery({ platform: "codespace", name: "cs" });
    expect(gh?.args).toEqual(["codespace", "view", "-c", "cs", "--json", "state"]);
    expect(gh?.parse('{"state":"Available"}')).toBe("available");
    expect(gh?.parse('{"state":"Shutdown"}')).toBe("stopped");
    expect(gh?.parse('{"state":"Starting"}')).toBe("unknown");
    expect(gh?.parse("not json")).toBe("unknown");
    const devpod = stateQuery({ platform: "devpod", name: "ws" });
    expect(devpod?.parse('{"state":"Running"}')).toBe("available");
    expect(devpod?.parse('{"state":"Stopped"}')).toBe("stopped");
    expect(devpod?.args).toEqual(["status", "ws", "--output", "json"]);
    expect(devpod?.parse('{"id":"ws","context":"default","provider":"docker","state":"Running"}')).toBe(
      "available",
    );
    expect(devpod?.parse('{"state":"NotFound"}')).toBe("gone");
    expect(devpod?.parse('{"state":"Busy"}')).toBe("unknown");
    const coder = stateQuery({ platform: "coder", name: "ws" });
    expect(coder?.parse('[{"name":"ws","latest_build":{"status":"running"}}]')).toBe("available");
    expect(coder?.parse('[{"name":"ws","latest_build":{"status":"stopped"}}]')).toBe("stopped");
    expect(coder?.parse('[{"name":"other","latest_build":{"status":"running"}}]')).toBe("gone");
    expect(coder?.parse('[{"name":"ws","latest_build":{"status":"deleted"}}]')).toBe("gone");
    expect(coder?.parse('[{"name":"ws","latest_build":{"status":"starting"}}]')).toBe("unknown");
    // no workspace at all: coder prints nothing on stdout
    expect(coder?.parse("")).toBe("gone");
    expect(stateQuery({ platform: "ssh", name: "box" })).toBeUndefined();
  });

  it("pins host keys in sso-docker's own file, shares no connection and forwards nothing", () => {
    const args = sshArguments(
      { platform: "codespace", name: "cs", user: "codespace" },
      { knownHosts: "/h/.sso-docker/known_hosts", mode: "verify", remoteCommand: "exec /bin/sh -s" },
    );
    for (const option of [
      "BatchMode=yes",
      "StrictHostKeyChecking=yes",
      "UserKnownHostsFile=/h/.sso-docker/known_hosts",
      "HostKeyAlias=sso-docker.codespace.cs",
      "ControlMaster=no",
      "ForwardAgent=no",
      "ClearAllForwardings=yes",
      "RemoteCommand=none",
      "ProxyCommand=gh codespace ssh -c cs --stdio",
    ]) {
      expect(args).toContain(option);
    }
    expect(args.slice(-3)).toEqual(["sso-docker.codespace.cs", "--", "exec /bin/sh -s"]);
  });
});
