import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CancelledError } from "../runtime/errors.js";
import { takeLoginLock } from "./login-lock.js";
import type { SessionRef } from "./session-ref.js";

const SESSION: SessionRef = {
  kind: "sso-session",
  sessionName: "unit",
  startUrl: "https://unit.awsapps.com/start",
  ssoRegion: "us-east-1",
  scopes: ["sso:account:access"],
  profileName: "u-app",
};

let dir: string;
let tokenPath: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sso-docker-login-lock-"));
  tokenPath = join(dir, "token.json");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe("takeLoginLock", () => {
  it("lets a person's login go ahead at once while the agent's login holds the lock", async () => {
    const agent = await takeLoginLock(tokenPath, SESSION, { background: true });
    expect(agent).toBeDefined();
    let waited = false;
    const person = await takeLoginLock(tokenPath, SESSION, {
      background: false,
      onWait: () => (waited = true),
    });
    expect(person).toBeUndefined();
    expect(waited).toBe(false);
    await agent?.release();
    expect(await exists(`${tokenPath}.login.agent`)).toBe(false);
  });

  it("makes the agent's login wait for a person's, and take the lock once it is released", async () => {
    const person = await takeLoginLock(tokenPath, SESSION, { background: false });
    let told: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (told = resolve));
    const agent = takeLoginLock(tokenPath, SESSION, {
      background: true,
      onWait: () => {
        told();
      },
    });
    await waiting;
    await person?.release();
    const lock = await agent;
    expect(lock).toBeDefined();
    await lock?.release();
  });

  it("makes a second person wait, and stops waiting when cancelled", async () => {
    const first = await takeLoginLock(tokenPath, SESSION, { background: false });
    const controller = new AbortController();
    const second = takeLoginLock(tokenPath, SESSION, {
      background: false,
      signal: controller.signal,
      onWait: () => {
        controller.abort();
      },
    });
    await expect(second).rejects.toBeInstanceOf(CancelledError);
    await first?.release();
  });

  it("ignores the mark of an agent that died mid-login once someone holds the lock again", async () => {
    await writeFile(`${tokenPath}.login.agent`, "12345\n");
    const first = await takeLoginLock(tokenPath, SESSION, { background: false });
    expect(await exists(`${tokenPath}.login.agent`)).toBe(false);
    const controller = new AbortController();
    const second = takeLoginLock(tokenPath, SESSION, {
      background: false,
      signal: controller.signal,
      onWait: () => {
        controller.abort();
      },
    });
    await expect(second).rejects.toBeInstanceOf(CancelledError);
    await first?.release();
  });

  it("names the session and the next command when the other login never ends", async () => {
    const first = await takeLoginLock(tokenPath, SESSION, { background: false });
    await expect(takeLoginLock(tokenPath, SESSION, { background: false, waitMs: 0 })).rejects.toMatchObject({
      message: "Another sso-docker login for sso-session unit is still waiting for its sign-in.",
      hint: expect.stringContaining("sso-docker login --profile u-app") as unknown,
    });
    await first?.release();
  });
});
