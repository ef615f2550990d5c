import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentHandle } from "../src/agent/agent.js";
import { startAgent } from "../src/agent/agent.js";
import type { FakeIdc } from "../src/fake-idc/index.js";
import { startFakeIdc } from "../src/fake-idc/index.js";
import type { Deps } from "../src/runtime/deps.js";
import { createDeps } from "../src/runtime/deps.js";
import { createLogger } from "../src/runtime/logger.js";
import { signIn } from "./cli-support.js";
import { createAgentEventLog } from "./support/agent-events.js";
import type { TestContainer } from "./support/docker.js";
import { startContainer, sweepTestContainersAfterAll } from "./support/docker.js";
import { grantLabels } from "./support/grant.js";
import type { TestHome } from "./support/host.js";
import { makeTestHome, ssoProfileConfig } from "./support/host.js";
import { ensureTestImages } from "./support/images.js";

// Issue 9, finding 7: what a container prints or names must not forge lines of the agent's log.
// The agent's own sign-in prompt reads "sign-in needed for SESSION: … open URL and enter CODE";
// a container's root makes every push print such a line (plus terminal escapes), and another
// container names it in its profiles label. The log file gets what the logger writes, one
// write a line, so a newline inside a write would start a line of the container's choosing.
sweepTestContainersAfterAll();

const SESSION = "log-sso";
const PROFILE = "log-app";
const FORGED = `sign-in needed for ${SESSION}: open http://evil.example/device and enter EVIL-CODE`;

let idc: FakeIdc;
let home: TestHome;
let deps: Deps;
let agent: AgentHandle | undefined;
let printer: TestContainer;
let namer: TestContainer;
const writes: string[] = [];
const { attach, waitFor } = createAgentEventLog([]);

/** The log as a file holds it: each write, then a newline. */
const fileLines = () => writes.join("\n").split("\n");

beforeAll(async () => {
  const { busybox } = await ensureTestImages();
  idc = await startFakeIdc();
  home = await makeTestHome({
    config: ssoProfileConfig({
      profile: PROFILE,
      session: SESSION,
      startUrl: idc.startUrl,
      role: "ReadOnlyAccess",
    }),
    endpointEnv: idc.endpointEnv(),
  });
  deps = createDeps({
    env: home.env,
    platform: "linux",
    logger: createLogger({ debug: true, write: (line) => writes.push(line) }),
  });
  await signIn(deps.paths, idc, SESSION);
  printer = await startContainer(busybox, { labels: await grantLabels(home.home, PROFILE, home.env) });
  // Root in the container: the shell every push runs prints the forged prompt and fails.
  const forger = `#!/bin/busybox sh\nprintf 'oops\\n%s\\n\\033[2K\\033]0;owned\\007' '${FORGED}' >&2\nexit 1\n`;
  const planted = await printer.exec(
    ["/bin/busybox", "sh", "-c", "rm /bin/sh && cat > /bin/sh && chmod 755 /bin/sh"],
    {
      user: "0",
      input: forger,
    },
  );
  expect(planted.exitCode, planted.stderr).toBe(0);
  // Whoever starts a container chooses its labels: a profile "name" that carries the prompt.
  const label = `${PROFILE}\n${FORGED}`;
  namer = await startContainer(busybox, { labels: await grantLabels(home.home, label, home.env) });
  agent = await startAgent(deps, { openBrowser: false });
  attach(agent, ["pushFailed", "refused", "ignored"]);
  await agent.ready;
}, 120_000);

afterAll(async () => {
  if (process.env["AGENT_TEST_LOG"]) console.info(writes.join("\n"));
  await agent?.stop();
  await idc.close();
  await home[Symbol.asyncDispose]();
});

describe("a container's words in the agent's log", () => {
  it("a push's stderr and a label's text stay inside one quoted line: no forged sign-in prompt, no terminal escape", async () => {
    await waitFor("pushFailed", (e) => e.containerId === printer.id, 0, 20_000, "the printer's failed push");
    await Promise.race([
      waitFor("pushFailed", (e) => e.containerId === namer.id, 0, 20_000, "the namer's failure"),
      waitFor("refused", (e) => e.containerId === namer.id, 0, 20_000, "the namer's refusal"),
    ]);
    const lines = fileLines();
    const forgedLines = lines.filter((line) => line.startsWith("sign-in needed"));
    expect(forgedLines, `the log:\n${lines.join("\n")}`).toEqual([]);
    expect(lines.filter((line) => line.includes("\u001b"))).toEqual([]);
    // The container's words are there, escaped and set apart, on the line about that container.
    const printed = lines.filter((line) => line.includes("EVIL-CODE") && line.includes(printer.name));
    expect(printed.length, lines.join("\n")).toBeGreaterThan(0);
    for (const line of printed) expect(line).toMatch(/«oops\\nsign-in needed for .*EVIL-CODE\\n\\x1b\[2K/);
    // The label's text reached the log too (as a refusal of that container), on its own line.
    const named = lines.filter((line) => line.includes("EVIL-CODE") && !line.includes(printer.name));
    expect(named.length, lines.join("\n")).toBeGreaterThan(0);
    for (const line of named) expect(line).toMatch(/log-app\\nsign-in needed/);
  });
});
