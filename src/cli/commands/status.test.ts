import { describe, expect, it } from "vitest";
import type { StatusReport } from "../../agent/status-report.js";
import { renderEngine, renderStatus } from "./status.js";

const NOW = Date.parse("2026-12-06T04:00:00Z");

function report(running: boolean): StatusReport {
  return {
    sessions: [],
    agent: {
      running,
      ...(running ? { pid: 4242, started: "2026-12-06T03:00:00Z", connected: false } : {}),
      engine: "unix:///var/run/docker.sock",
      stateFile: "/home/me/.sso-docker/agent-x.json",
      logFile: "/home/me/.sso-docker/agent-x.log",
    },
    containers: [],
    refused: [],
    containersUpdated: "2026-12-06T03:59:00Z",
    remoteTargets: {
      targets: [
        {
          target: "codespace:cs-main",
          profiles: ["dev", "prod"],
          user: "codespace",
          secretDir: "tmpfs",
          attachedAt: "2026-12-06T03:00:00Z",
          seen: {
            target: "codespace:cs-main",
            profiles: ["dev", "prod"],
            state: "available",
            lastPush: "2026-12-06T03:59:30Z",
            credentialExpiry: "2026-12-06T05:00:00Z",
          },
        },
        {
          target: "codespace:cs-rebuilt",
          profiles: ["dev"],
          user: "codespace",
          secretDir: "tmpfs",
          attachedAt: "2026-12-06T03:00:00Z",
          seen: {
            target: "codespace:cs-rebuilt",
            profiles: ["dev"],
            state: "refused",
            reason: "The host key of codespace:cs-rebuilt is not the one pinned when it was attached",
            hint: "re-attach it",
            nextTry: "2026-12-06T04:05:00Z",
            lastPush: "2026-12-06T02:00:00Z",
            credentialExpiry: "2026-12-06T03:00:00Z",
          },
        },
        {
          target: "devpod:ws",
          profiles: ["dev"],
          secretDir: "shm",
          attachedAt: "2026-12-06T03:58:00Z",
        },
      ],
    },
  };
}

describe("sso-docker status", () => {
  it("says first that no engine answers, and still lists each remote target with its state, last push and expiry", () => {
    const text =
      renderEngine({ host: "unix:///var/run/docker.sock", problem: "Cannot reach it." }) +
      renderStatus(report(true), NOW);
    const lines = text.split("\n");
    expect(lines[0]).toBe("Engine: not reachable at unix:///var/run/docker.sock (Cannot reach it.)");
    expect(
      renderEngine({
        host: "unix:///var/run/docker.sock",
        problem: "Cannot reach the Docker engine at unix:///var/run/docker.sock.",
      }).trimEnd(),
    ).toBe("Engine: Cannot reach the Docker engine at unix:///var/run/docker.sock.");
    expect(text).toContain(
      "Agent: running (pid 4242) for unix:///var/run/docker.sock since 2026-12-06T03:00:00Z, no engine answers",
    );
    const table = lines.slice(lines.indexOf("Remote targets (`sso-docker detach TARGET` ends one)") + 1);
    expect(table[0]).toMatch(/^ {2}TARGET\s+PROFILES\s+USER\s+STATE\s+LAST PUSH\s+CREDENTIALS EXPIRE$/);
    expect(table[1]).toMatch(
      /^ {2}codespace:cs-main\s+dev,prod\s+codespace\s+available\s+2026-12-06T03:59:30Z \(30s ago\)\s+2026-12-06T05:00:00Z \(in 1h0m\)$/,
    );
    expect(table[2]).toMatch(/^ {2}codespace:cs-rebuilt\s+dev\s+codespace\s+refused\s+2026-12-06T02:00:00Z/);
    expect(table[3]).toMatch(/^ {2}devpod:ws\s+dev\s+-\s+not served yet\s+-\s+-$/);
    expect(table[4]).toBe(
      "  codespace:cs-rebuilt: The host key of codespace:cs-rebuilt is not the one pinned when it was attached",
    );
    expect(table[5]).toBe("    tried again 2026-12-06T04:05:00Z (in 5m)");
    expect(table[6]).toBe("    next: re-attach it");
  });

  it("labels the targets' states as last seen when the agent is not running", () => {
    const text = renderStatus(report(false), NOW);
    expect(text).toContain("Remote targets (last seen by the agent, 2026-12-06T03:59:00Z)");
    expect(text).toMatch(/devpod:ws\s+dev\s+-\s+-\s+-\s+-/);
  });
});
